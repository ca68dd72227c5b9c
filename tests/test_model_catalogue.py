"""The model catalogue and the planning rules that every generation request goes through.

No database: the catalogue is code, so these tests run in milliseconds and can cover every model and preset.
"""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from generation.catalogue import all_models, default_model, get_model
from generation.model_specs import MAX_NUM_IMAGES, MAX_PROMPT_LENGTH, SEED_MAX, SEED_MIN, ModelSpec
from generation.planning import GenerationPlan, PlanError, plan_generation

# The example request of seed-architecture.md §5.2, exactly as written.
SEED_EXAMPLE = {
    "prompt": "一只可爱的猫咪",
    "negative_prompt": "模糊, 低质量",
    "model": "general_v2.0",
    "width": 1024,
    "height": 1024,
    "num_images": 1,
    "steps": 20,
    "scale": 7.5,
    "seed": None,
}

DOCUMENTED_IDS = {
    "jimeng_t2i_v31",
    "jimeng_t2i_v30",
    "jimeng_t2i_v40",
    "high_aes_general_v30l_zt2i",
    "high_aes_general_v21_L",
    "jimeng_high_aes_general_v21_L",
    "high_aes_general_v20_L",
    "high_aes_general_v20",
    # Ark (方舟) models, served by the Ark engine (tests/test_ark_catalogue.py)
    "doubao-seedream-4-5-251128",
    "doubao-seedream-4-0-250828",
    "doubao-seedream-3-0-t2i-250415",
}

ALL_PRESETS = [(m.id, p.width, p.height) for m in all_models() for p in m.presets]


def plan(**fields) -> GenerationPlan:
    return plan_generation({"prompt": "a lighthouse at dusk", **fields})


def errors_of(**fields) -> dict[str, list[str]]:
    with pytest.raises(PlanError) as caught:
        plan(**fields)
    errors = caught.value.errors
    assert errors, "a PlanError must say what is wrong"
    return errors


@pytest.fixture(autouse=True)
def english():
    # Assertions on message text are written in English; the Chinese case is tested explicitly below.
    with translation.override("en"):
        yield


# --- the catalogue --------------------------------------------------------------------------------------


def test_the_catalogue_lists_the_documented_models():
    assert {m.id for m in all_models()} == DOCUMENTED_IDS
    assert len(all_models()) == len(DOCUMENTED_IDS)


def test_exactly_one_model_is_the_default_and_it_is_jimeng_3_1():
    defaults = [m for m in all_models() if m.is_default]
    assert [m.id for m in defaults] == ["jimeng_t2i_v31"]
    assert default_model().id == "jimeng_t2i_v31"


def test_the_default_comes_first_and_legacy_models_come_last():
    models = all_models()
    assert models[0].is_default
    legacy_flags = [m.legacy for m in models]
    assert legacy_flags == sorted(legacy_flags), "no current model may follow a legacy one"
    assert {m.id for m in models if m.legacy} == {
        "high_aes_general_v21_L",
        "jimeng_high_aes_general_v21_L",
        "high_aes_general_v20_L",
        "high_aes_general_v20",
    }


def test_all_models_returns_a_copy_that_callers_may_change():
    all_models().clear()
    assert len(all_models()) == len(DOCUMENTED_IDS)


def test_every_model_uses_a_known_engine_with_a_known_action():
    for model in all_models():
        assert model.engine == ("ark" if model.id.startswith("doubao-") else "volcengine")
        assert model.action in {"sync", "async"}
        if model.engine == "ark":
            assert model.action == "sync"  # one request answers with the image
    # The Jimeng 3.x/4.0 models are documented async only; general 3.0 is the synchronous quick path.
    for model_id in ("jimeng_t2i_v31", "jimeng_t2i_v30", "jimeng_t2i_v40"):
        assert get_model(model_id).action == "async"
    assert get_model("high_aes_general_v30l_zt2i").action == "sync"


def test_no_model_sends_a_negative_prompt_upstream():
    assert not any(m.negative_prompt for m in all_models())


def test_only_the_2x_models_offer_super_resolution():
    for model in all_models():
        assert model.super_resolution == model.legacy, model.id


def test_only_jimeng_4_can_return_several_images_per_call():
    assert {m.id for m in all_models() if m.max_images_per_call > 1} == {"jimeng_t2i_v40"}


def test_it_resolves_the_seed_alias_to_general_2_0():
    assert get_model("general_v2.0") is get_model("high_aes_general_v20")
    assert "general_v2.0" in get_model("high_aes_general_v20").aliases


def test_it_finds_models_by_id_ignoring_case_and_surrounding_blanks():
    assert get_model("jimeng_t2i_v31") is default_model()
    assert get_model(" HIGH_AES_GENERAL_V21_L ").id == "high_aes_general_v21_L"


def test_it_returns_none_for_an_unknown_model_id():
    assert get_model("dall-e-3") is None
    assert get_model("") is None


def test_model_specs_are_immutable():
    with pytest.raises(AttributeError):
        default_model().is_default = False  # type: ignore[misc]


def test_output_limits_double_the_largest_side_with_super_resolution():
    assert get_model("high_aes_general_v20").output_limits() == (256, 1360)
    assert get_model("high_aes_general_v21_L").output_limits() == (256, 1536)
    assert get_model("high_aes_general_v30l_zt2i").output_limits() == (512, 2048)


@pytest.mark.parametrize("model_id", ["jimeng_t2i_v31", "jimeng_t2i_v30", "jimeng_t2i_v40"])
def test_jimeng_side_limits_are_exactly_those_implied_by_area_and_ratio(model_id):
    # These models only document an area and a ratio rule; the side range must not cut anything they allow,
    # nor allow a side for which no valid partner exists.
    model = get_model(model_id)

    def has_partner(side: int) -> bool:
        return any(
            model.min_pixels <= side * other <= model.max_pixels
            and model.min_ratio <= side / other <= model.max_ratio
            for other in range(1, 3 * side + 2)
        )

    assert has_partner(model.min_side) and has_partner(model.max_side)
    assert not has_partner(model.min_side - 1) and not has_partner(model.max_side + 1)


@pytest.mark.parametrize("model", [m for m in all_models() if m.legacy], ids=lambda m: m.id)
def test_legacy_area_and_ratio_limits_are_those_implied_by_the_side_range(model):
    # Only the per-side range is documented for 2.x; area and ratio must not add a hidden restriction.
    assert model.min_pixels == model.min_side**2
    assert model.max_pixels == model.max_side**2
    assert model.min_ratio == pytest.approx(model.min_side / model.max_side)
    assert model.max_ratio == pytest.approx(model.max_side / model.min_side)


def test_the_documented_parameter_ranges_and_defaults():
    v31 = get_model("jimeng_t2i_v31")
    assert (v31.steps, v31.scale, v31.enhance_prompt) == (None, None, True)
    assert (v31.default_width, v31.default_height) == (1328, 1328)
    assert (v31.min_pixels, v31.max_pixels) == (512 * 512, 2048 * 2048)
    assert (v31.min_ratio, v31.max_ratio) == (pytest.approx(1 / 3), 3)

    v40 = get_model("jimeng_t2i_v40")
    assert (v40.scale.min, v40.scale.max, v40.scale.default) == (0, 1, 0.5)
    assert (v40.min_pixels, v40.max_pixels) == (1024 * 1024, 4096 * 4096)
    assert (v40.default_width, v40.default_height) == (2048, 2048)

    general3 = get_model("high_aes_general_v30l_zt2i")
    assert (general3.scale.min, general3.scale.max, general3.scale.default) == (1, 10, 2.5)
    assert general3.max_side == 2048
    assert general3.enhance_prompt is False

    general21 = get_model("high_aes_general_v21_L")
    assert (general21.min_side, general21.max_side) == (256, 768)
    general20 = get_model("high_aes_general_v20")
    assert (general20.min_side, general20.max_side) == (256, 680)


# --- presets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id,width,height", ALL_PRESETS, ids=[f"{m}-{w}x{h}" for m, w, h in ALL_PRESETS])
def test_every_preset_is_valid_for_its_model(model_id, width, height):
    result = plan(model=model_id, width=width, height=height)
    assert (result.width, result.height) == (width, height)


def test_every_model_offers_presets_with_truthful_ratio_labels():
    for model in all_models():
        assert model.presets, model.id
        for preset in model.presets:
            a, b = (int(x) for x in preset.ratio.split(":"))
            assert preset.width / preset.height == pytest.approx(a / b, rel=0.01), (model.id, preset)


def test_the_documented_recommended_sizes_are_offered():
    v31_sizes = {(p.width, p.height) for p in get_model("jimeng_t2i_v31").presets}
    assert {(1328, 1328), (1664, 936), (2048, 2048), (3024, 1296)} <= v31_sizes
    v40_sizes = {(p.width, p.height) for p in get_model("jimeng_t2i_v40").presets}
    assert {(1024, 1024), (2560, 1440), (4096, 4096), (6198, 2656)} <= v40_sizes


def test_legacy_presets_use_super_resolution():
    for model in all_models():
        if model.legacy:
            for preset in model.presets:
                result = plan(model=model.id, width=preset.width, height=preset.height)
                assert result.use_sr, (model.id, preset)
                assert (result.upstream_width * 2, result.upstream_height * 2) == (preset.width, preset.height)


# --- planning: the seed example, defaults, models ---------------------------------------------------------


def test_it_accepts_the_seed_example_exactly_as_written():
    result = plan_generation(dict(SEED_EXAMPLE))
    assert result.model.id == "high_aes_general_v20"
    assert (result.width, result.height) == (1024, 1024)
    assert (result.upstream_width, result.upstream_height) == (512, 512)
    assert result.use_sr is True
    assert result.steps == 20
    assert result.scale == 7.5
    assert result.seed is None
    assert result.num_images == 1
    assert result.prompt == "一只可爱的猫咪"
    # General 2.0 takes no negative prompt: kept for the record, listed as ignored, not an error.
    assert result.negative_prompt == "模糊, 低质量"
    assert result.ignored == ("negative_prompt",)


def test_it_uses_the_default_model_when_none_is_given():
    assert plan().model.id == "jimeng_t2i_v31"
    assert plan(model=None).model.id == "jimeng_t2i_v31"
    assert plan(model="").model.id == "jimeng_t2i_v31"


def test_it_fills_in_the_model_defaults_for_missing_values():
    result = plan()
    assert (result.width, result.height, result.use_sr) == (1328, 1328, False)
    assert (result.upstream_width, result.upstream_height) == (1328, 1328)
    assert result.enhance_prompt is True
    assert (result.steps, result.scale, result.seed, result.num_images) == (None, None, None, 1)
    assert result.ignored == ()

    assert plan(model="jimeng_t2i_v40").scale == 0.5
    assert (plan(model="jimeng_t2i_v40").width, plan(model="jimeng_t2i_v40").height) == (2048, 2048)
    assert plan(model="high_aes_general_v30l_zt2i").scale == 2.5
    assert plan(model="high_aes_general_v30l_zt2i").enhance_prompt is False
    legacy = plan(model="high_aes_general_v21_L")
    assert (legacy.steps, legacy.scale) == (25, 3.5)
    assert isinstance(legacy.steps, int) and isinstance(legacy.scale, float)


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.id)
def test_every_models_default_size_is_valid(model):
    result = plan(model=model.id)
    assert (result.width, result.height) == (model.default_width, model.default_height)


def test_the_legacy_default_is_a_super_resolved_512_square():
    result = plan(model="general_v2.0")
    assert (result.width, result.height) == (1024, 1024)
    assert (result.upstream_width, result.upstream_height, result.use_sr) == (512, 512, True)


def test_it_rejects_an_unknown_model():
    errors = errors_of(model="general_v9")
    assert list(errors) == ["model"]
    message = errors["model"][0]
    assert "general_v9" in message
    for model_id in DOCUMENTED_IDS:
        assert model_id in message


def test_it_strips_the_prompt_and_rejects_an_empty_or_too_long_one():
    assert plan_generation({"prompt": "  a cat  "}).prompt == "a cat"
    with pytest.raises(PlanError) as caught:
        plan_generation({"prompt": "   "})
    assert "prompt" in caught.value.errors
    assert plan_generation({"prompt": "x" * MAX_PROMPT_LENGTH}).prompt == "x" * MAX_PROMPT_LENGTH
    with pytest.raises(PlanError) as caught:
        plan_generation({"prompt": "x" * (MAX_PROMPT_LENGTH + 1)})
    assert str(MAX_PROMPT_LENGTH) in caught.value.errors["prompt"][0]


# --- planning: unsupported parameters ---------------------------------------------------------------------


def test_it_lists_unsupported_parameters_as_ignored():
    result = plan(model="jimeng_t2i_v31", negative_prompt="blurry", steps=30, scale=5.0)
    assert result.ignored == ("negative_prompt", "steps", "scale")
    assert (result.steps, result.scale) == (None, None)
    assert result.negative_prompt == "blurry"

    v40 = plan(model="jimeng_t2i_v40", enhance_prompt=False, steps=10)
    assert v40.ignored == ("steps", "enhance_prompt")
    assert v40.enhance_prompt is None


def test_unsupported_parameters_are_ignored_even_when_out_of_any_range():
    # Not sent upstream, so never an error: the user only learns they had no effect.
    assert plan(model="jimeng_t2i_v31", steps=10_000, scale=-3.0).ignored == ("steps", "scale")


def test_an_empty_negative_prompt_is_not_listed_as_ignored():
    for value in ("", "   ", None):
        result = plan(negative_prompt=value)
        assert result.negative_prompt is None
        assert result.ignored == ()


def test_a_supported_parameter_is_used_and_not_ignored():
    result = plan(model="high_aes_general_v30l_zt2i", scale=4.0, enhance_prompt=True, seed=42)
    assert (result.scale, result.enhance_prompt, result.seed, result.ignored) == (4.0, True, 42, ())


# --- planning: numeric ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id,field,value,expected_range",
    [
        ("jimeng_t2i_v40", "scale", 1.5, ("0", "1")),
        ("jimeng_t2i_v40", "scale", -0.1, ("0", "1")),
        ("high_aes_general_v30l_zt2i", "scale", 0.5, ("1", "10")),
        ("high_aes_general_v30l_zt2i", "scale", 10.5, ("1", "10")),
        ("general_v2.0", "steps", 0, ("1", "50")),
        ("general_v2.0", "steps", 51, ("1", "50")),
        ("general_v2.0", "scale", 11.0, ("1", "10")),
    ],
)
def test_it_rejects_an_out_of_range_parameter_naming_the_field_and_range(model_id, field, value, expected_range):
    errors = errors_of(model=model_id, **{field: value})
    assert list(errors) == [field]
    message = errors[field][0]
    low, high = expected_range
    assert f"between {low} and {high}" in message, message


def test_it_rejects_a_fractional_number_of_steps():
    assert "steps" in errors_of(model="general_v2.0", steps=20.5)


def test_it_accepts_the_ends_of_each_range():
    assert plan(model="jimeng_t2i_v40", scale=0.0).scale == 0.0
    assert plan(model="jimeng_t2i_v40", scale=1.0).scale == 1.0
    assert plan(model="general_v2.0", steps=1).steps == 1
    assert plan(model="general_v2.0", steps=50).steps == 50
    assert plan(model="high_aes_general_v30l_zt2i", scale=10).scale == 10.0


def test_it_rejects_a_scale_that_is_not_a_number():
    assert "scale" in errors_of(model="jimeng_t2i_v40", scale=float("nan"))
    assert "scale" in errors_of(model="jimeng_t2i_v40", scale=float("inf"))


@pytest.mark.parametrize("seed", [None, -1])
def test_a_missing_or_minus_one_seed_means_random(seed):
    assert plan(seed=seed).seed is None


def test_it_keeps_a_given_seed():
    assert plan(seed=0).seed == 0
    assert plan(seed=SEED_MAX).seed == SEED_MAX


@pytest.mark.parametrize("seed", [SEED_MIN - 1, SEED_MAX + 1])
def test_it_rejects_a_seed_out_of_range(seed):
    message = errors_of(seed=seed)["seed"][0]
    assert str(SEED_MAX) in message


@pytest.mark.parametrize("count", [0, MAX_NUM_IMAGES + 1])
def test_it_rejects_a_number_of_images_out_of_range(count):
    message = errors_of(num_images=count)["num_images"][0]
    assert str(MAX_NUM_IMAGES) in message


def test_it_accepts_up_to_the_maximum_number_of_images():
    assert plan(num_images=MAX_NUM_IMAGES).num_images == MAX_NUM_IMAGES


def test_it_reports_every_bad_field_at_once():
    errors = errors_of(model="general_v2.0", width=5000, height=1024, steps=99, seed=-7, num_images=9)
    assert {"width", "steps", "seed", "num_images"} <= set(errors)
    assert "height" not in errors


# --- planning: sizes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("given,missing", [({"width": 1024}, "height"), ({"height": 1024}, "width")])
def test_it_requires_width_and_height_together(given, missing):
    errors = errors_of(**given)
    assert list(errors) == [missing]


def test_it_names_the_range_when_width_is_too_large():
    errors = errors_of(model="jimeng_t2i_v31", width=4000, height=1328)
    assert list(errors) == ["width"]
    assert "between 296 and 3546 pixels" in errors["width"][0]


def test_it_names_the_range_when_height_is_too_small():
    errors = errors_of(model="high_aes_general_v30l_zt2i", width=1024, height=256)
    assert list(errors) == ["height"]
    assert "between 512 and 2048 pixels" in errors["height"][0]


def test_the_size_range_in_a_message_is_the_output_range_for_super_resolution_models():
    errors = errors_of(model="general_v2.0", width=2048, height=1024)
    assert "between 256 and 1360 pixels" in errors["width"][0]


def test_it_limits_general_3_0_to_2048_per_side():
    assert plan(model="high_aes_general_v30l_zt2i", width=2048, height=2048).width == 2048
    errors = errors_of(model="high_aes_general_v30l_zt2i", width=2304, height=1728)
    assert list(errors) == ["width"]


def test_it_accepts_the_ratio_limits_exactly():
    assert plan(width=1536, height=512).width == 1536  # 3:1
    assert plan(width=512, height=1536).height == 1536  # 1:3


def test_it_rejects_a_ratio_beyond_the_limits_naming_the_range():
    for width, height in ((1539, 512), (512, 1539)):
        errors = errors_of(width=width, height=height)
        assert set(errors) == {"width", "height"}
        assert "between 1:3 and 3:1" in errors["width"][0]


def test_it_rejects_an_area_outside_the_jimeng_3_range():
    errors = errors_of(width=500, height=500)
    assert "between 512×512 and 2048×2048" in errors["width"][0]
    errors = errors_of(width=2100, height=2100)
    assert "between 512×512 and 2048×2048" in errors["width"][0]


def test_jimeng_4_sizes_are_limited_by_area():
    assert plan(model="jimeng_t2i_v40", width=1024, height=1024).width == 1024
    assert plan(model="jimeng_t2i_v40", width=4096, height=4096).width == 4096
    assert plan(model="jimeng_t2i_v40", width=6198, height=2656).use_sr is False
    for width, height in ((1000, 1000), (1024, 1023), (4096, 4097), (7000, 2400)):
        errors = errors_of(model="jimeng_t2i_v40", width=width, height=height)
        assert set(errors) == {"width", "height"}, (width, height)
        assert "between 1024×1024 and 4096×4096" in errors["width"][0]


def test_jimeng_4_keeps_the_default_ratio_limits():
    errors = errors_of(model="jimeng_t2i_v40", width=4000, height=1000)
    assert "between 1:3 and 3:1" in errors["width"][0]


def test_it_sends_a_native_size_without_upscaling():
    result = plan(model="general_v2.0", width=512, height=512)
    assert (result.upstream_width, result.upstream_height, result.use_sr) == (512, 512, False)
    result = plan(model="high_aes_general_v21_L", width=768, height=768)
    assert (result.upstream_width, result.upstream_height, result.use_sr) == (768, 768, False)


def test_it_upscales_when_the_size_exceeds_the_native_range():
    result = plan(model="general_v2.0", width=1000, height=700)  # both above general 2.0's 680
    assert (result.width, result.height) == (1000, 700)
    assert (result.upstream_width, result.upstream_height, result.use_sr) == (500, 350, True)
    result = plan(model="high_aes_general_v21_L", width=1536, height=600)  # only the width is above 768
    assert (result.upstream_width, result.upstream_height, result.use_sr) == (768, 300, True)


def test_it_upscales_only_when_half_the_size_is_itself_valid():
    # 700×400 on general 2.0: 400/2 = 200 is below the native minimum of 256, so it cannot be made.
    errors = errors_of(model="general_v2.0", width=700, height=400)
    assert list(errors) == ["height"]
    assert "between 512 and 1360 pixels" in errors["height"][0]
    result = plan(model="general_v2.0", width=1360, height=512)
    assert (result.upstream_width, result.upstream_height, result.use_sr) == (680, 256, True)


def test_it_requires_even_sides_when_upscaling():
    errors = errors_of(model="high_aes_general_v21_L", width=1025, height=1024)
    assert list(errors) == ["width"]
    assert "even" in errors["width"][0]


def test_models_without_super_resolution_never_upscale():
    for model in all_models():
        if not model.super_resolution:
            _, largest = model.output_limits()
            assert largest == model.max_side
            assert "width" in errors_of(model=model.id, width=largest * 2, height=largest)


# --- the API description ----------------------------------------------------------------------------------


def test_the_api_description_is_json_with_every_documented_key():
    for model in all_models():
        data = json.loads(json.dumps(model.to_dict()))
        assert {
            "id", "name", "name_en", "name_zh", "engine", "action", "default", "legacy", "aliases", "sizes",
            "parameters", "max_images_per_call",
        } <= set(data)
        assert {
            "min_side", "max_side", "min_pixels", "max_pixels", "min_ratio", "max_ratio", "default_width",
            "default_height", "super_resolution", "presets", "tiers",
        } <= set(data["sizes"])
        assert set(data["parameters"]) == {"negative_prompt", "steps", "scale", "seed", "enhance_prompt"}
        assert data["parameters"]["seed"] == {"supported": model.seed, "min": -1, "max": 2147483647}
        assert data["default"] == model.is_default
        assert all(set(p) == {"width", "height", "ratio"} for p in data["sizes"]["presets"])


def test_the_api_description_gives_output_sizes():
    sizes = get_model("general_v2.0").to_dict()["sizes"]
    assert (sizes["min_side"], sizes["max_side"]) == (256, 1360)
    assert sizes["super_resolution"] is True
    assert (sizes["default_width"], sizes["default_height"]) == (1024, 1024)
    assert sizes["max_pixels"] >= 1360 * 1360


def test_the_api_description_of_parameters():
    general2 = get_model("general_v2.0").to_dict()
    assert general2["aliases"] == ["general_v2.0"]
    params = general2["parameters"]
    assert params["negative_prompt"] == {"supported": False}
    assert params["steps"]["supported"] is True
    assert (params["steps"]["min"], params["steps"]["max"], params["steps"]["default"]) == (1, 50, 16)
    assert params["enhance_prompt"] == {"supported": False, "default": None}

    v31 = default_model().to_dict()
    assert v31["parameters"]["steps"]["supported"] is False
    assert v31["parameters"]["scale"]["supported"] is False
    assert v31["parameters"]["enhance_prompt"] == {"supported": True, "default": True}
    v40 = get_model("jimeng_t2i_v40").to_dict()["parameters"]["scale"]
    assert (v40["supported"], v40["min"], v40["max"], v40["default"]) == (True, 0, 1, 0.5)


def test_model_names_follow_the_active_language():
    model = default_model()
    with translation.override("zh-hans"):
        assert model.to_dict()["name"] == model.name_zh
    with translation.override("en"):
        assert model.to_dict()["name"] == model.name_en
    assert model.to_dict()["name_zh"] == "即梦 文生图 3.1"


def test_messages_follow_the_active_language():
    with translation.override("en"):
        english = errors_of(width=4000, height=1328)["width"][0]
    assert english == "Width must be between 296 and 3546 pixels for Jimeng 3.1."
    # There may be no Chinese catalogue yet: switching must still work, and the range must survive.
    with translation.override("zh-hans"):
        chinese = errors_of(width=4000, height=1328)["width"][0]
        unknown = errors_of(model="nope")["model"][0]
    assert "296" in chinese and "3546" in chinese
    assert "nope" in unknown


def test_a_plan_error_reads_well_in_logs():
    with pytest.raises(PlanError) as caught:
        plan(num_images=0)
    assert "num_images" in str(caught.value)


def test_model_spec_is_the_public_type_of_catalogue_entries():
    assert all(isinstance(m, ModelSpec) for m in all_models())


def test_output_areas_quadruple_the_largest_with_super_resolution_and_keep_the_native_range():
    for model in all_models():
        out = model.to_dict()["sizes"]
        native = out["native"]
        assert (out["min_pixels"], out["max_pixels"]) == model.output_pixel_limits()
        assert native == {"min_side": model.min_side, "max_side": model.max_side, "min_pixels": model.min_pixels,
                          "max_pixels": model.max_pixels}
        assert out["min_pixels"] == native["min_pixels"] == model.min_pixels
        assert out["max_pixels"] == native["max_pixels"] * (4 if model.super_resolution else 1)
    assert get_model("high_aes_general_v20").output_pixel_limits()[1] == 4 * get_model("high_aes_general_v20").max_pixels
    assert get_model("jimeng_t2i_v31").output_pixel_limits() == (get_model("jimeng_t2i_v31").min_pixels,
                                                                   get_model("jimeng_t2i_v31").max_pixels)


def test_each_numeric_parameter_says_whether_it_takes_whole_numbers_only():
    for model in all_models():
        params = model.to_dict()["parameters"]
        for name in ("steps", "scale"):
            spec = getattr(model, name)
            assert params[name] == ({"supported": True, "min": spec.coerce(spec.min), "max": spec.coerce(spec.max),
                                     "default": spec.coerce(spec.default), "integer": spec.integer} if spec else
                                    {"supported": False, "min": None, "max": None, "default": None, "integer": None})
    steps = get_model("high_aes_general_v20").to_dict()["parameters"]["steps"]
    assert steps["integer"] is True and isinstance(steps["min"], int)


def test_a_plan_error_keeps_its_errors_when_pickled():
    import pickle

    error = PlanError({"width": ["too wide"]})
    assert error.args == ({"width": ["too wide"]},)
    assert pickle.loads(pickle.dumps(error)).errors == {"width": ["too wide"]}


def test_the_reference_limits_and_group_support_are_stated_in_the_documented_keys(settings):
    settings.IMAGEGEN_S3_REFERENCE_URLS = False
    v40, v30 = get_model("jimeng_t2i_v40"), get_model("jimeng_t2i_v30")
    for model in (v40, v30):
        limits = model.to_dict()["reference_images"]
        assert {k: limits[k] for k in ("formats", "max_bytes", "min_side", "max_side", "min_ratio", "max_ratio")} == {
            "formats": list(model.reference_formats), "max_bytes": 10 * 1024 * 1024, "min_side": 15,
            "max_side": 6000, "min_ratio": model.reference_min_ratio, "max_ratio": model.reference_max_ratio}
    seedream = get_model("doubao-seedream-4-0-250828")
    assert seedream.to_dict()["group"] == {"supported": True, "max_total_with_references": 15}
    assert v30.to_dict()["group"] == {"supported": False, "max_total_with_references": 0}
    one = ModelSpec(**{**{f: getattr(seedream, f) for f in seedream.__dataclass_fields__}, "group_images": 1})
    assert one.to_dict()["group"]["supported"] is True


def test_why_a_model_takes_no_references_is_said_in_the_users_language(settings):
    settings.IMAGEGEN_S3_REFERENCE_URLS = False
    v40, general = get_model("jimeng_t2i_v40"), get_model("high_aes_general_v20")
    assert general.reference_images == 0
    assert v40.reference_unavailable_reason() == (
        "This model takes reference images only as web addresses VolcEngine can fetch, which needs object storage "
        "with presigned URLs; this server does not offer that.")
    assert general.reference_unavailable_reason() == "This model does not take reference images."
    with translation.override("zh-hans"):
        assert general.reference_unavailable_reason() == "此模型不接受参考图。"
        assert v40.reference_unavailable_reason().startswith("此模型只接受火山引擎可以下载的网址形式的参考图")
    settings.IMAGEGEN_S3_REFERENCE_URLS = True
    assert v40.reference_unavailable_reason() is None
