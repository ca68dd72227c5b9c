"""Reference images (README, "Reference images"): uploaded or picked from the gallery through the API, kept as
the task's own inputs, and sent to Ark as base64 data URLs through the real SDK against tests/ark_server.py."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image as PILImage

from generation.catalogue import all_models

from .ark_server import FakeArk
from .conftest import run

pytestmark = pytest.mark.django_db

KEY = "ark-test-key-never-shown-0123456789"


@pytest.fixture
def ark(settings):
    server = FakeArk(api_key=KEY).start()
    settings.IMAGEGEN_ENGINE = "auto"
    settings.ARK_API_KEY = KEY
    settings.ARK_BASE_URL = server.base_url
    settings.ARK_CONNECT_TIMEOUT = 2
    settings.ARK_READ_TIMEOUT = 5
    yield server
    server.stop()


def picture(width=64, height=48, fmt="PNG") -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def upload(api, data: bytes, content_type="image/png"):
    return api.client.post("/api/v1/references", data=data, content_type=content_type)


def smallest(model):
    preset = min(model.presets, key=lambda p: p.width * p.height)
    return {"model": model.id, "width": preset.width, "height": preset.height, "negative_prompt": None,
            "steps": None, "scale": None, "seed": None}


REFERENCE_MODELS = [m for m in all_models() if m.engine == "ark" and m.takes_references]


def test_the_ark_models_that_take_references_are_the_4x_ones():
    assert sorted(m.id for m in REFERENCE_MODELS) == ["doubao-seedream-4-0-250828", "doubao-seedream-4-5-251128"]


@pytest.mark.parametrize("model", REFERENCE_MODELS, ids=lambda m: m.id)
def test_an_uploaded_and_a_gallery_reference_reach_ark_as_data_urls(api, media, ark, model):
    first = api.generate(**smallest(model), prompt="a red fox")
    run(first)
    gallery_image = api.get(f"task/{first}").json()["images"][0]["image_id"]
    uploaded = upload(api, picture())
    assert uploaded.status_code == 201, uploaded.content
    ref_id = uploaded.json()["reference_id"]

    task_id = api.generate(**smallest(model), prompt="the fox in the snow", reference_images=[ref_id, gallery_image])
    run(task_id)

    body = api.get(f"task/{task_id}").json()
    assert body["status"] == "completed", body
    assert [(r["width"], r["height"]) for r in body["reference_images"]] == [(64, 48), ark_size(first, api)]
    sent = ark.calls()[-1].body["image"]
    assert isinstance(sent, list) and len(sent) == 2
    assert sent[0] == "data:image/png;base64," + base64.b64encode(picture()).decode()
    assert sent[1].startswith("data:image/")
    # The task's own copy is served, and its id may be named again ("reuse").
    assert api.client.get(body["reference_images"][0]["url"]).content == picture()
    again = api.generate(**smallest(model), prompt="again",
                         reference_images=[r["reference_id"] for r in body["reference_images"]])
    run(again)
    assert len(api.get(f"task/{again}").json()["reference_images"]) == 2
    assert len(ark.calls()[-1].body["image"]) == 2


def ark_size(task_id, api):
    image = api.get(f"task/{task_id}").json()["images"][0]
    return image["width"], image["height"]


def test_one_reference_is_sent_as_a_string(api, media, ark):
    ref_id = upload(api, picture(fmt="JPEG"), "image/jpeg").json()["reference_id"]
    model = next(m for m in REFERENCE_MODELS if m.id.startswith("doubao-seedream-4-0"))
    run(api.generate(**smallest(model), prompt="x", reference_images=[ref_id]))
    assert ark.calls()[-1].body["image"].startswith("data:image/jpeg;base64,")
