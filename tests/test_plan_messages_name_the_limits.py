"""The words of every refusal of plan_generation: which field, which limit, which model, in English and
(for some) in Chinese. A message that names the wrong limit, or the wrong field, is a wrong answer however
right the refusal; and every problem is reported at once."""

from __future__ import annotations

import pytest
from django.utils import translation

from generation.catalogue import all_models
from generation.model_specs import MAX_PROMPT_LENGTH, SEED_MAX
from generation.planning import PlanError, plan_generation, unsafe_characters


def refusal(language="en", **data) -> dict[str, list[str]]:
    with translation.override(language), pytest.raises(PlanError) as caught:
        plan_generation({"prompt": "a lighthouse", **data})
    return caught.value.errors


def test_an_empty_or_blank_prompt_is_refused():
    assert refusal(prompt="  ") == {"prompt": ["The prompt cannot be empty."]}
    assert refusal(prompt=None) == {"prompt": ["The prompt cannot be empty."]}
    assert refusal("zh-hans", prompt="") == {"prompt": ["提示词不能为空"]}


def test_a_prompt_is_refused_one_character_past_the_limit():
    assert plan_generation({"prompt": " " + "x" * MAX_PROMPT_LENGTH + " "}).prompt == "x" * MAX_PROMPT_LENGTH
    assert refusal(prompt="x" * (MAX_PROMPT_LENGTH + 1)) == {
        "prompt": ["The prompt can be at most 800 characters long (it has 801)."]}
    assert refusal("zh-hans", prompt="x" * 900) == {"prompt": ["提示词最多 800 个字符（当前 900 个）"]}


def test_control_characters_are_named_in_either_prompt():
    assert refusal(prompt="a\x07b", negative_prompt="c\u202ed") == {
        "prompt": ["Remove the control or text-direction characters (U+0007)."],
        "negative_prompt": ["Remove the control or text-direction characters (U+202E)."]}


@pytest.mark.parametrize(("text", "found"), [
    ("tab\tnew\nline\r", ""), ("a\tb\x07", "U+0007"),
    ("\x1f", "U+001F"), ("\x20", ""), ("\x7e", ""), ("\x7f", "U+007F"),
    ("\x9f", "U+009F"), ("\xa0", ""), ("\u2029\u202a", "U+202A"), ("\u202e\u202f", "U+202E"),
    ("\u2065\u2066", "U+2066"), ("\u2069\u206a", "U+2069"), ("\u200e\u200f\u200d", ""),
    ("\x01\x01\x02\x03\x04", "U+0001, U+0002, U+0003"), ("\x00", "U+0000"),
])
def test_only_control_and_direction_characters_are_unsafe(text, found):
    assert unsafe_characters(text) == found


def test_a_number_of_images_is_refused_past_either_end():
    message = {"num_images": ["The number of images must be between 1 and 4."]}
    assert refusal(num_images=0) == message
    assert refusal(num_images=5) == message
    assert plan_generation({"prompt": "p", "num_images": 1}).num_images == 1
    assert plan_generation({"prompt": "p", "num_images": 4}).num_images == 4
    assert plan_generation({"prompt": "p"}).num_images == 1
    assert refusal("zh-hans", num_images=9) == {"num_images": ["图片数量必须在 1 到 4 之间"]}


def test_an_unknown_model_is_named_with_the_choices():
    choices = ", ".join(m.id for m in all_models())
    assert refusal(model="general_v9") == {
        "model": [f'Unknown model "general_v9". Available models: {choices}.']}


def test_a_blank_model_means_the_default():
    assert plan_generation({"prompt": "p", "model": "  "}).model.id == "jimeng_t2i_v31"
    assert plan_generation({"prompt": "p", "model": None}).model.id == "jimeng_t2i_v31"


def test_a_seed_is_refused_past_either_end():
    message = {"seed": [f"The seed must be between -1 and {SEED_MAX} (-1 means random)."]}
    assert refusal(seed=-2) == message
    assert refusal(seed=SEED_MAX + 1) == message
    assert plan_generation({"prompt": "p", "seed": SEED_MAX}).seed == SEED_MAX
    assert plan_generation({"prompt": "p", "seed": 0}).seed == 0
    assert plan_generation({"prompt": "p", "seed": -1}).seed is None


def test_a_seed_for_a_model_without_one_is_ignored_whatever_its_value():
    result = plan_generation({"prompt": "p", "model": "doubao-seedream-4-0-250828", "seed": -99})
    assert result.seed is None and result.ignored == ("seed",)


def test_enhance_prompt_follows_the_request_or_the_models_default():
    assert plan_generation({"prompt": "p", "model": "jimeng_t2i_v31"}).enhance_prompt is True
    assert plan_generation({"prompt": "p", "model": "jimeng_t2i_v31", "enhance_prompt": 0}).enhance_prompt is False
    general = plan_generation({"prompt": "p", "model": "high_aes_general_v30l_zt2i", "enhance_prompt": 1})
    assert general.enhance_prompt is True and general.ignored == ()
    assert plan_generation({"prompt": "p", "model": "high_aes_general_v30l_zt2i"}).enhance_prompt is False


def test_size_messages_name_the_model_and_its_limits():
    side = "Width must be between 296 and 3546 pixels for Jimeng 3.1."
    assert refusal(model="jimeng_t2i_v31", width=295, height=1328) == {"width": [side]}
    assert refusal(model="jimeng_t2i_v31", width=1328, height=3547) == {
        "height": ["Height must be between 296 and 3546 pixels for Jimeng 3.1."]}
    area = "The image area (width × height) must be between 512×512 and 2048×2048 pixels for Jimeng 3.1."
    assert refusal(model="jimeng_t2i_v31", width=500, height=500) == {"width": [area], "height": [area]}
    ratio = "The aspect ratio (width:height) must be between 1:3 and 3:1 for Jimeng 3.1."
    assert refusal(model="jimeng_t2i_v31", width=1539, height=512) == {"width": [ratio], "height": [ratio]}
    assert refusal("zh-hans", model="jimeng_t2i_v31", width=295, height=1328) == {
        "width": ["即梦 文生图 3.1 的宽度必须在 296 到 3546 像素之间"]}


def test_super_resolution_messages_name_the_native_side():
    even = ("Beyond 680 pixels a side, General 2.0 makes a half-size image and upscales it ×2, "
            "so the width must be an even number.")
    assert refusal(model="general_v2.0", width=1023, height=1024) == {"width": [even]}
    sr_range = ("Beyond 680 pixels a side, General 2.0 makes a half-size image and upscales it ×2, "
                "so the height must then be between 512 and 1360 pixels.")
    assert refusal(model="general_v2.0", width=1200, height=510) == {"height": [sr_range]}


def test_every_problem_is_reported_at_once():
    errors = refusal(prompt="", model="general_v2.0", width=1023, height=1024, seed=-5, num_images=0, steps=0)
    assert set(errors) == {"prompt", "width", "seed", "num_images", "steps"}


def test_a_group_is_refused_by_a_model_without_groups():
    assert refusal(model="jimeng_t2i_v31", group=True) == {
        "group": ["jimeng_t2i_v31 does not make images in groups."]}
    assert plan_generation({"prompt": "p", "model": "jimeng_t2i_v31", "group": False}).group is False


def test_a_plan_error_reads_as_its_fields_and_messages():
    error = PlanError({"width": ["Too wide.", "Odd."], "seed": ["Bad."]})
    assert str(error) == "width: Too wide. Odd.; seed: Bad."


def test_a_model_whose_engine_has_no_credentials_is_refused_naming_the_offered_ones(settings):
    settings.IMAGEGEN_ENGINE = "auto"
    settings.VOLC_ACCESSKEY = settings.VOLC_SECRETKEY = settings.ARK_API_KEY = ""
    offered = ", ".join(m.id for m in all_models() if m.engine == "volcengine")
    assert refusal(model="doubao-seedream-4-0-250828") == {"model": [
        'The model "doubao-seedream-4-0-250828" is not available on this server (its engine is not configured). '
        f"Available models: {offered}."]}


def test_no_seed_means_random():
    assert plan_generation({"prompt": "p"}).seed is None
    assert plan_generation({"prompt": "p", "seed": 1}).seed == 1


class Reference:
    format, width, height = "png", 512, 512


def test_a_group_counts_references_and_results_together_up_to_the_models_limit():
    seedream = "doubao-seedream-4-5-251128"  # groups of up to 15, up to 14 references
    planned = plan_generation({"prompt": "p", "model": seedream, "group": True, "num_images": 4,
                               "reference_images": [Reference()] * 11})
    assert planned.group is True and len(planned.references) == 11
    assert plan_generation({"prompt": "p", "model": seedream, "group": True,
                            "reference_images": [Reference()] * 14}).num_images == 1
    assert refusal(model=seedream, group=True, num_images=4, reference_images=[Reference()] * 12) == {"group": [
        "In a group, doubao-seedream-4-5-251128 takes at most 15 reference and result images together "
        "(16 asked for)."]}


def test_steps_and_scale_are_named_with_their_range_and_the_model():
    assert refusal(model="general_v2.0", steps=51, scale=0.5) == {
        "steps": ["Steps must be a whole number between 1 and 50 for General 2.0."],
        "scale": ["Scale must be between 1 and 10 for General 2.0."]}
    assert refusal(model="general_v2.0", steps=2.5) == {
        "steps": ["Steps must be a whole number between 1 and 50 for General 2.0."]}
    assert refusal(model="jimeng_t2i_v40", scale=1.5) == {"scale": ["Scale must be between 0 and 1 for Jimeng 4.0."]}
    assert refusal("zh-hans", model="general_v2.0", steps=0, scale=11) == {
        "steps": ["通用 2.0 的步数必须是 1 到 50 之间的整数"], "scale": ["通用 2.0 的引导系数必须在 1 到 10 之间"]}


def test_reference_image_refusals_count_from_one_and_name_the_limit(settings):
    from types import SimpleNamespace

    settings.ARK_API_KEY, settings.IMAGEGEN_ENGINE = "a-key", "auto"  # Ark's models are offered
    png = SimpleNamespace(format="png", width=64, height=48)
    webp = SimpleNamespace(format="webp", width=64, height=48)
    wide = SimpleNamespace(format="png", width=400, height=100)
    data = {"model": "doubao-seedream-4-0-250828", "width": 2048, "height": 2048,
            "reference_images": [webp] + [png] * 9 + [wide]}
    assert refusal(**data) == {"reference_images": [
        "doubao-seedream-4-0-250828 takes at most 10 reference images (11 given).",
        "Reference image 1 is WEBP; doubao-seedream-4-0-250828 takes PNG, JPEG.",
        "Reference image 11 is 400×100; doubao-seedream-4-0-250828 takes aspect ratios (width/height) "
        "between 1:3 and 3:1."]}
    assert refusal("zh-hans", **data) == {"reference_images": [
        "doubao-seedream-4-0-250828 最多接受 10 张参考图（给了 11 张）。",
        "第 1 张参考图是 WEBP 格式；doubao-seedream-4-0-250828 只接受 PNG, JPEG。",
        "第 11 张参考图为 400×100；doubao-seedream-4-0-250828 接受的宽高比（宽/高）在 1:3 与 3:1 之间。"]}


def test_a_reference_image_at_either_ratio_limit_is_taken_and_one_pixel_past_it_is_not(settings):
    from types import SimpleNamespace

    settings.ARK_API_KEY, settings.IMAGEGEN_ENGINE = "a-key", "auto"

    def plan(width, height):
        ref = SimpleNamespace(format="jpeg", width=width, height=height)
        return plan_generation({"prompt": "p", "model": "doubao-seedream-4-0-250828", "width": 2048, "height": 2048,
                                "reference_images": [ref]})

    assert len(plan(300, 100).references) == 1 and len(plan(100, 300).references) == 1
    for width, height in ((301, 100), (100, 301)):
        with pytest.raises(PlanError) as caught:
            plan(width, height)
        assert caught.value.errors == {"reference_images": [
            f"Reference image 1 is {width}×{height}; doubao-seedream-4-0-250828 takes aspect ratios (width/height) "
            "between 1:3 and 3:1."]}


def test_a_group_counts_a_refused_image_count_as_one_image(settings):
    from types import SimpleNamespace

    settings.ARK_API_KEY, settings.IMAGEGEN_ENGINE = "a-key", "auto"
    refs = [SimpleNamespace(format="png", width=64, height=48)] * 14
    data = {"model": "doubao-seedream-4-5-251128", "width": 2048, "height": 2048, "group": True,
            "reference_images": refs}
    # 14 references and the one image a group makes at least: within 15, so only the count itself is refused.
    assert refusal(**data, num_images=0) == {"num_images": ["The number of images must be between 1 and 4."]}
    assert set(refusal(**data, num_images=2)) == {"group"}


def test_a_group_over_its_limit_names_the_images_counted(settings):
    from types import SimpleNamespace

    settings.ARK_API_KEY, settings.IMAGEGEN_ENGINE = "a-key", "auto"
    refs = [SimpleNamespace(format="png", width=64, height=48)] * 15
    errors = refusal(model="doubao-seedream-4-5-251128", width=2048, height=2048, group=True, reference_images=refs,
                     num_images=0)
    assert errors["group"] == [
        "In a group, doubao-seedream-4-5-251128 takes at most 15 reference and result images together (16 asked for)."]
