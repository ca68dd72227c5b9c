"""The Ark (方舟) Seedream models in the catalogue: their size rules and parameters (seedream-ark.md §1.3), as
planning applies them, and when they are offered at all (generation/offering.py)."""

from __future__ import annotations

import pytest
from django.utils import translation

from generation.catalogue import get_model
from generation.offering import engine_name_for, is_offered, offered_default, offered_models
from generation.planning import PlanError, plan_generation

SEEDREAM_45 = "doubao-seedream-4-5-251128"
SEEDREAM_40 = "doubao-seedream-4-0-250828"
SEEDREAM_30 = "doubao-seedream-3-0-t2i-250415"
ARK_MODELS = (SEEDREAM_45, SEEDREAM_40, SEEDREAM_30)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def plan(**fields):
    return plan_generation({"prompt": "a lighthouse at dusk", **fields})


def errors_of(**fields) -> dict[str, list[str]]:
    with pytest.raises(PlanError) as caught:
        plan(**fields)
    return caught.value.errors


def test_the_three_ark_models_are_served_by_the_ark_engine_one_image_per_request():
    for model_id in ARK_MODELS:
        model = get_model(model_id)
        assert model.engine == "ark" and model.action == "sync"
        assert model.max_images_per_call == 1
        assert not model.negative_prompt and model.enhance_prompt is None and model.steps is None


def test_seedream_4_5_needs_at_least_2560_by_1440_pixels_and_has_no_1k_tier():
    assert get_model(SEEDREAM_45).size_tiers == ("2K", "4K")
    assert plan(model=SEEDREAM_45, width=2560, height=1440).width == 2560
    assert plan(model=SEEDREAM_45, width=4096, height=4096).width == 4096
    errors = errors_of(model=SEEDREAM_45, width=1024, height=1024)
    assert "area" in errors["width"][0]
    assert "width" in errors_of(model=SEEDREAM_45, width=4097, height=4096)


def test_seedream_4_0_takes_1280_by_720_and_up_with_all_three_tiers():
    assert get_model(SEEDREAM_40).size_tiers == ("1K", "2K", "4K")
    assert plan(model=SEEDREAM_40, width=1280, height=720).height == 720
    assert plan(model=SEEDREAM_40, width=1024, height=1024).width == 1024
    assert "width" in errors_of(model=SEEDREAM_40, width=1200, height=720)


def test_seedream_4x_allows_ratios_up_to_16_to_1_and_no_further():
    assert plan(model=SEEDREAM_40, width=3840, height=240).width == 3840  # 16:1, exactly the smallest area
    errors = errors_of(model=SEEDREAM_40, width=5100, height=300)  # 17:1
    assert any("aspect ratio" in m for m in errors["width"])


def test_seedream_4x_takes_no_seed_and_no_guidance_scale():
    result = plan(model=SEEDREAM_45, seed=7, scale=3.0)
    assert result.scale is None and result.seed is None
    assert set(result.ignored) == {"seed", "scale"}


def test_seedream_3_0_takes_sides_from_512_to_2048_a_seed_and_a_guidance_scale():
    result = plan(model=SEEDREAM_30, seed=7, scale=4.5)
    assert (result.width, result.height, result.seed, result.scale) == (1024, 1024, 7, 4.5)
    assert plan(model=SEEDREAM_30).scale == 2.5
    assert "width" in errors_of(model=SEEDREAM_30, width=2049, height=1024)
    assert "scale" in errors_of(model=SEEDREAM_30, scale=10.5)
    assert get_model(SEEDREAM_30).size_tiers == ()


# --- offered only when the engine's credentials are set ------------------------------------------------


def test_with_no_credentials_auto_offers_the_cv_models_on_the_preview_engine_as_before(settings):
    settings.IMAGEGEN_ENGINE = "auto"
    assert {m.engine for m in offered_models()} == {"volcengine"}
    assert offered_default().id == "jimeng_t2i_v31"
    assert engine_name_for(get_model("jimeng_t2i_v31")) == "preview"
    assert "model" in errors_of(model=SEEDREAM_45)


def test_an_ark_key_alone_offers_only_the_ark_models(settings):
    settings.IMAGEGEN_ENGINE = "auto"
    settings.ARK_API_KEY = "ark-test-key"
    assert [m.id for m in offered_models()] == list(ARK_MODELS)
    assert offered_default().id == SEEDREAM_45  # the catalogue default (a CV model) is not offered
    assert plan().model.id == SEEDREAM_45
    assert engine_name_for(get_model(SEEDREAM_45)) == "ark"
    errors = errors_of(model="jimeng_t2i_v31")
    assert "not available" in errors["model"][0] and SEEDREAM_45 in errors["model"][0]


def test_both_sets_of_credentials_offer_cv_and_ark_models_side_by_side(settings):
    settings.IMAGEGEN_ENGINE = "auto"
    settings.ARK_API_KEY = "ark-test-key"
    settings.VOLC_ACCESSKEY, settings.VOLC_SECRETKEY = "AK", "SK"
    assert {m.engine for m in offered_models()} == {"volcengine", "ark"}
    assert engine_name_for(get_model("jimeng_t2i_v31")) == "volcengine"
    assert engine_name_for(get_model(SEEDREAM_40)) == "ark"


def test_forced_preview_offers_every_model_and_draws_them_all(settings):
    settings.IMAGEGEN_ENGINE = "preview"
    assert all(is_offered(get_model(m)) for m in ARK_MODELS)
    assert engine_name_for(get_model(SEEDREAM_45)) == "preview"
