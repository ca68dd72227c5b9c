"""A model is offered — GET /api/v1/models, the studio page, POST /api/v1/generate — only when its engine's
credentials are set, and each task records the engine that served it (generation/offering.py)."""

import pytest

pytestmark = pytest.mark.django_db

ARK = "doubao-seedream-4-0-250828"


@pytest.fixture
def auto(settings):
    settings.IMAGEGEN_ENGINE = "auto"
    return settings


def listed(api):
    body = api.get("models").json()
    return body["default"], [m["id"] for m in body["models"]]


def test_without_keys_the_list_is_the_cv_catalogue_as_before(api, auto):
    default, ids = listed(api)
    assert default == "jimeng_t2i_v31"
    assert ARK not in ids and "jimeng_t2i_v40" in ids


def test_with_only_an_ark_key_only_ark_models_are_listed_and_accepted(api, auto, client):
    auto.ARK_API_KEY = "ark-test-key"
    default, ids = listed(api)
    assert ids == ["doubao-seedream-4-5-251128", ARK, "doubao-seedream-3-0-t2i-250415"]
    assert default == "doubao-seedream-4-5-251128"
    refused = api.post("generate", {"prompt": "a cat", "model": "jimeng_t2i_v31"})
    assert refused.status_code == 400 and "jimeng_t2i_v31" in refused.content.decode()
    page = client.get("/").content.decode()
    assert ARK in page and "jimeng_t2i_v31" not in page


def test_with_both_keys_cv_and_ark_models_are_listed_side_by_side(api, auto):
    auto.ARK_API_KEY = "ark-test-key"
    auto.VOLC_ACCESSKEY, auto.VOLC_SECRETKEY = "AKLTx", "secret"
    default, ids = listed(api)
    assert default == "jimeng_t2i_v31"
    assert ARK in ids and "jimeng_t2i_v40" in ids


def test_a_task_records_the_engine_of_its_model(api, settings):
    settings.IMAGEGEN_ENGINE = "preview"
    task_id = api.generate(model=ARK, width=1280, height=720, negative_prompt=None, steps=None, scale=None)
    assert api.get(f"task/{task_id}").json()["engine"] == "preview"
