"""Each size limit of a model holds exactly: a side, area or ratio at its limit is planned and one pixel
past it is refused, with the message for that limit on the field it concerns. The limits are those of a
model built for the test, with round numbers, so each boundary is reached on its own; with
super-resolution, sizes beyond the native range are planned at half size and upscaled ×2."""

from __future__ import annotations

import pytest
from django.utils import translation

from generation.model_specs import ModelSpec
from generation.planning import _area, _plan_size, _ratio

# Native: sides 100..1000, area 12 000..800×800, ratio 1:2..2:1.
NATIVE = {"min_side": 100, "max_side": 1000, "min_pixels": 12_000, "max_pixels": 640_000,
          "min_ratio": 0.5, "max_ratio": 2.0}


def model(**changes) -> ModelSpec:
    fields = {"id": "test_model", "name_en": "Test", "name_zh": "测试", "action": "sync", "presets": (),
              "default_width": 300, "default_height": 400, **NATIVE, **changes}
    return ModelSpec(**fields)


PLAIN = model()
SR = model(super_resolution=True)


def plan(spec, width, height):
    errors: dict[str, list[str]] = {"prompt": ["kept"]}
    with translation.override("en"):
        result = _plan_size(spec, width, height, errors)
    del errors["prompt"]
    if result is not None:
        assert errors == {} and all(type(n) is int for n in result[:4])
    return result, errors


def side(field, low, high):
    return {field: [f"{field.capitalize()} must be between {low} and {high} pixels for Test."]}


AREA = "The image area (width × height) must be between 12,000 and 800×800 pixels for Test."
RATIO = "The aspect ratio (width:height) must be between 1:2 and 2:1 for Test."


def both(message):
    return {"width": [message], "height": [message]}


def test_neither_side_given_plans_the_models_default_size():
    assert plan(PLAIN, None, None) == ((300, 400, 300, 400, False), {})
    assert plan(SR, None, None) == ((300, 400, 300, 400, False), {})


def test_one_side_alone_is_refused_on_the_missing_side():
    pair = "{} too: width and height go together (or leave both out for the default size)."
    assert plan(PLAIN, 500, None) == (None, {"height": ["Give the " + pair.format("height")]})
    assert plan(PLAIN, None, 500) == (None, {"width": ["Give the " + pair.format("width")]})


@pytest.mark.parametrize(("width", "height", "errors"), [
    (100, 150, {}), (99, 150, side("width", 100, 1000)), (101, 150, {}),
    (150, 100, {}), (150, 99, side("height", 100, 1000)),
    (1000, 600, {}), (999, 600, {}), (1001, 600, side("width", 100, 1000)),
    (600, 1000, {}), (600, 1001, side("height", 100, 1000)),
    (99, 1001, {**side("width", 100, 1000), **side("height", 100, 1000)}),
])
def test_each_side_is_refused_one_pixel_past_its_limit(width, height, errors):
    result, found = plan(PLAIN, width, height)
    assert found == errors
    assert result == (None if errors else (width, height, width, height, False))


@pytest.mark.parametrize(("width", "height", "errors"), [
    (100, 120, {}), (100, 119, both(AREA)), (120, 100, {}), (119, 100, both(AREA)),
    (800, 800, {}), (800, 801, both(AREA)), (801, 800, both(AREA)), (801, 799, {}),
])
def test_the_area_is_refused_one_pixel_past_its_limit(width, height, errors):
    result, found = plan(PLAIN, width, height)
    assert found == errors
    assert result == (None if errors else (width, height, width, height, False))


@pytest.mark.parametrize(("width", "height", "errors"), [
    (200, 400, {}), (200, 401, both(RATIO)), (199, 400, both(RATIO)),
    (400, 200, {}), (401, 200, both(RATIO)), (400, 201, {}),
    (100, 1000, both(RATIO)),
])
def test_the_ratio_is_refused_just_past_its_limit(width, height, errors):
    result, found = plan(PLAIN, width, height)
    assert found == errors
    assert result == (None if errors else (width, height, width, height, False))


def test_a_size_past_both_the_area_and_the_ratio_gets_both_messages():
    assert plan(PLAIN, 1000, 12) == (None, side("height", 100, 1000))  # the side first
    assert plan(PLAIN, 1000, 100) == (None, both(RATIO))
    assert plan(model(min_pixels=200_000), 1000, 100)[1] == {
        "width": [AREA.replace("12,000", "200,000"), RATIO], "height": [AREA.replace("12,000", "200,000"), RATIO]}


# -- super-resolution: output sides up to twice the native maximum, made at half size


SR_EVEN = ("Beyond 1000 pixels a side, Test makes a half-size image and upscales it ×2, "
           "so the {} must be an even number.")
SR_RANGE = ("Beyond 1000 pixels a side, Test makes a half-size image and upscales it ×2, "
            "so the {} must then be between 200 and 2000 pixels.")
SR_AREA = "The image area (width × height) must be between 48,000 and 1600×1600 pixels for Test."


def test_a_size_the_model_makes_natively_is_sent_as_is():
    assert plan(SR, 1000, 600) == ((1000, 600, 1000, 600, False), {})
    assert plan(SR, 800, 800) == ((800, 800, 800, 800, False), {})


@pytest.mark.parametrize(("width", "height", "sent"), [
    (1004, 600, (502, 300)), (600, 1004, (300, 502)), (2000, 1200, (1000, 600)), (1200, 2000, (600, 1000)),
    (800, 802, (400, 401)), (802, 800, (401, 400)),
])
def test_a_larger_size_is_made_at_half_and_upscaled(width, height, sent):
    assert plan(SR, width, height) == ((width, height, *sent, True), {})


@pytest.mark.parametrize(("width", "height", "errors"), [
    (2001, 1200, side("width", 100, 2000)), (1200, 2001, side("height", 100, 2000)),
    (2002, 1200, side("width", 100, 2000)), (99, 1200, side("width", 100, 2000)),
])
def test_with_super_resolution_a_side_may_be_twice_the_native_maximum(width, height, errors):
    assert plan(SR, width, height) == (None, errors)


@pytest.mark.parametrize(("width", "height", "errors"), [
    (1001, 600, {"width": [SR_EVEN.format("width")]}), (1005, 600, {"width": [SR_EVEN.format("width")]}),
    (600, 1001, {"height": [SR_EVEN.format("height")]}), (600, 1005, {"height": [SR_EVEN.format("height")]}),
    (1001, 1001, {"width": [SR_EVEN.format("width")], "height": [SR_EVEN.format("height")]}),
    (801, 800, {"width": [SR_EVEN.format("width")]}),
])
def test_an_upscaled_size_must_have_even_sides(width, height, errors):
    assert plan(SR, width, height) == (None, errors)


@pytest.mark.parametrize(("width", "height", "errors"), [
    (1200, 198, {"height": [SR_RANGE.format("height")]}), (198, 1200, {"width": [SR_RANGE.format("width")]}),
    (1200, 200, both(RATIO)), (200, 1200, both(RATIO)),
    (2000, 1300, both(SR_AREA)), (1300, 2000, both(SR_AREA)),
])
def test_an_upscaled_size_must_be_one_the_model_makes_at_half(width, height, errors):
    assert plan(SR, width, height) == (None, errors)


@pytest.mark.parametrize(("width", "height"), [(1000, 401), (401, 1000)])
def test_a_side_at_the_native_maximum_is_not_upscaled(width, height):
    """At the native maximum a side is native: a refusal is about the ratio, not an odd side to upscale."""
    assert plan(SR, width, height) == (None, both(RATIO))


def test_the_area_at_the_native_maximum_is_not_upscaled():
    narrow = model(super_resolution=True, min_pixels=200_000, max_ratio=1.5)
    ratio = "The aspect ratio (width:height) must be between 1:2 and 1.50 for Test."
    assert plan(narrow, 1000, 640) == (None, both(ratio))


def test_size_messages_follow_the_language():
    with translation.override("zh-hans"):
        sides: dict[str, list[str]] = {}
        _plan_size(PLAIN, 99, 150, sides)
        ratio: dict[str, list[str]] = {}
        _plan_size(PLAIN, 200, 401, ratio)
    assert "测试" in sides["width"][0] and "100" in sides["width"][0] and "1000" in sides["width"][0]
    assert "Width" not in sides["width"][0]
    assert ratio["width"] == ratio["height"] == ["测试 的宽高比（宽:高）必须在 1:2 到 2:1 之间"]


def test_an_area_at_its_limit_is_not_named_when_the_ratio_is_wrong():
    narrow = model(min_ratio=1.1, max_ratio=1.2)
    ratio = "The aspect ratio (width:height) must be between 1.10 and 1.20 for Test."
    assert plan(narrow, 100, 120) == (None, both(ratio))  # the smallest area
    assert plan(narrow, 800, 800) == (None, both(ratio))  # the largest


def test_a_ratio_at_its_limit_is_not_named_when_the_area_is_wrong():
    small = model(min_pixels=30_000)
    area = "The image area (width × height) must be between 30,000 and 800×800 pixels for Test."
    assert plan(small, 100, 200) == (None, both(area))  # 1:2
    assert plan(small, 200, 100) == (None, both(area))  # 2:1
    large = model(max_pixels=400_000)
    area = "The image area (width × height) must be between 12,000 and 400,000 pixels for Test."
    assert plan(large, 1000, 500) == (None, both(area))
    assert plan(large, 500, 1000) == (None, both(area))


@pytest.mark.parametrize(("ratio", "text"), [
    (3.0, "3:1"), (1 / 3, "1:3"), (1.0, "1:1"), (2.0, "2:1"), (0.5, "1:2"), (16.0, "16:1"), (0.0625, "1:16"),
    (2.65625, "2.66"), (256 / 680, "0.38"), (0.4, "0.40"), (1.5, "1.50"), (3.0000000001, "3:1"),
])
def test_a_ratio_limit_is_written_as_people_write_it(ratio, text):
    assert _ratio(ratio) == text


@pytest.mark.parametrize(("pixels", "text"), [
    (512 * 512, "512×512"), (4194304, "2048×2048"), (12_000, "12,000"), (1_000_001, "1,000,001"), (1, "1×1"),
])
def test_an_area_limit_is_written_as_a_square_when_it_is_one(pixels, text):
    assert _area(pixels) == text
