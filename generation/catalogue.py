"""The model catalogue shipped with the app.

Why a catalogue in code: VolcEngine's visual API cannot list its models (docs/spec/volcengine-protocol.md §6), so the
app ships what the official pages say about each `req_key` (§3.1, §8). The catalogue drives three things that
must never disagree: `GET /api/v1/models`, the web form, and validation of `POST /api/v1/generate` (and of the
command-line generator, through planning.py). Hence no database and no other project module: importable
anywhere (engines, serializers, management commands).

The 2.x models can render at half size and upscale ×2 (`use_sr`), which VolcEngine recommends for them
(docs/spec/PRODUCT.md §4): their default output size is above their native range on purpose.
"""

from __future__ import annotations

import math
from typing import Any

from .model_specs import ModelSpec, NumberParam, SizePreset


def _presets(*sizes: tuple[int, int, str]) -> tuple[SizePreset, ...]:
    return tuple(SizePreset(w, h, r) for w, h, r in sizes)


def _with_portraits(*landscape: tuple[int, int, str]) -> tuple[tuple[int, int, str], ...]:
    """Each documented landscape size, followed by its portrait twin (the ratio limits are symmetric).

    The official pages list landscape sizes only; 21:9 stays landscape-only because 9:21 is not a ratio
    the form offers.
    """
    out: list[tuple[int, int, str]] = []
    for w, h, ratio in landscape:
        out.append((w, h, ratio))
        if w != h and ratio != "21:9":
            a, b = ratio.split(":")
            out.append((h, w, f"{b}:{a}"))
    return tuple(out)


# Jimeng 3.x "1K" and "2K" recommendations, verbatim from the jimeng_t2i_v31 page [S3a].
_JIMENG3_1K = (
    (1328, 1328, "1:1"), (1472, 1104, "4:3"), (1584, 1056, "3:2"), (1664, 936, "16:9"), (2016, 864, "21:9"),
)
_JIMENG3_2K = (
    (2048, 2048, "1:1"), (2304, 1728, "4:3"), (2496, 1664, "3:2"), (2560, 1440, "16:9"), (3024, 1296, "21:9"),
)
# Jimeng 4.0 recommendations [S3c]: 1K is only documented as 1:1; the page advises 2K and above.
_JIMENG4_2K = _JIMENG3_2K
_JIMENG4_4K = (
    (4096, 4096, "1:1"), (4694, 3520, "4:3"), (4992, 3328, "3:2"), (5404, 3040, "16:9"), (6198, 2656, "21:9"),
)

# 2.x outputs made with use_sr (half of each side is sent). Every half fits both [256, 768] and the smaller
# [256, 680] of general 2.0, and every size has a side above 768, so all of them really use super-resolution.
_SR_PRESETS = _presets(
    (1024, 1024, "1:1"),
    (1024, 768, "4:3"),
    (768, 1024, "3:4"),
    (1152, 768, "3:2"),
    (768, 1152, "2:3"),
    (1280, 720, "16:9"),
    (720, 1280, "9:16"),
    (1344, 576, "21:9"),
)

# The official pages publish no range for ddim_steps or scale on the 2.x models, only example values
# (scale 3.5, ddim_steps 16 or 25). These ranges are our choice: wide enough for the usual diffusion
# settings — the seed design's own example (steps 20, scale 7.5) must pass as written — and narrow enough to stop
# obvious mistakes. The defaults are the documented example values.
_LEGACY_STEPS_MIN, _LEGACY_STEPS_MAX = 1, 50
_LEGACY_SCALE_MIN, _LEGACY_SCALE_MAX = 1.0, 10.0


def _legacy_steps(default: int) -> NumberParam:
    return NumberParam(min=_LEGACY_STEPS_MIN, max=_LEGACY_STEPS_MAX, default=default, integer=True)


def _legacy_scale(default: float) -> NumberParam:
    return NumberParam(min=_LEGACY_SCALE_MIN, max=_LEGACY_SCALE_MAX, default=default, integer=False)


def _sizes(
    *, sides: tuple[int, int], pixels: tuple[int, int], ratio: tuple[float, float], default: tuple[int, int]
) -> dict[str, Any]:
    """A model's size limits as ModelSpec fields: the side, area and ratio ranges and the default size."""
    return dict(
        min_side=sides[0], max_side=sides[1], min_pixels=pixels[0], max_pixels=pixels[1],
        min_ratio=ratio[0], max_ratio=ratio[1], default_width=default[0], default_height=default[1],
    )


def _sides_only(low: int, high: int, *, default: tuple[int, int]) -> dict[str, Any]:
    """Limits of a model whose pages document a side range only: area and ratio are what the sides imply."""
    return _sizes(sides=(low, high), pixels=(low * low, high * high), ratio=(low / high, high / low), default=default)


# Jimeng 3.0/3.1 only limit the area ([512², 2048²]) and the ratio ([1:3, 3:1]). The side range below is
# what those two rules imply (no tighter, no looser; tests check that): a side of 296 needs a partner of
# 888 to reach 512² at 1:3, and 3546 is the longest side whose 1:3 partner keeps the area within 2048².
_JIMENG3_SIZES = _sizes(sides=(296, 3546), pixels=(512 * 512, 2048 * 2048), ratio=(1 / 3, 3.0), default=(1328, 1328))

# Legacy 2.x sizes: only per-side ranges are documented, so area and ratio are those the sides imply.
_V21_SIZES: dict[str, Any] = dict(
    # 512×512 upscaled: the documented default side (512) with use_sr
    **_sides_only(256, 768, default=(1024, 1024)),
    super_resolution=True,
    presets=_SR_PRESETS,
)

# General 2.1 and Jimeng 2.1 differ only in their req_key and names. Their fixed request fields: images inline,
# and the prompt-expanding schedule.
_V21: dict[str, Any] = dict(
    action="sync",
    legacy=True,
    **_V21_SIZES,
    steps=_legacy_steps(25),
    scale=_legacy_scale(3.5),
    enhance_prompt=True,
    body_extra=(("return_url", False), ("req_schedule_conf", "general_v20_9B_pe")),
)


def _ark_4x_sizes(*, min_pixels: int) -> dict[str, Any]:
    """Seedream 4.x on Ark: only the area and the ratio [1/16, 16] are limited; the sides are what those two
    imply (the shortest side at 1:16 with the smallest area, the longest at 16:1 with the largest)."""
    max_pixels = 4096 * 4096
    return _sizes(
        sides=(math.isqrt(min_pixels // 16), math.isqrt(max_pixels * 16)),
        pixels=(min_pixels, max_pixels),
        ratio=(1 / 16, 16.0),
        default=(2048, 2048),  # the API's own default size
    )


# Group generation ("auto") lets the model decide how many images come back: one image per request.
_ARK_4X_BODY = (("sequential_image_generation", "disabled"),)

_MODELS: tuple[ModelSpec, ...] = (
    # The default (§8): async only; prompt enhancement on by default.
    ModelSpec(
        id="jimeng_t2i_v31",
        name_en="Jimeng 3.1",
        name_zh="即梦 文生图 3.1",
        action="async",
        is_default=True,
        **_JIMENG3_SIZES,
        presets=_presets(*_with_portraits(*_JIMENG3_1K), *_with_portraits(*_JIMENG3_2K)),
        enhance_prompt=True,
    ),
    # Seedream 4.0 generation: sizes by area [1024², 4096²] with the default ratio limits [1/3, 3] (the
    # API allows min_ratio/max_ratio down to 1/16 and up to 16, but the app keeps the defaults).
    ModelSpec(
        id="jimeng_t2i_v40",
        name_en="Jimeng 4.0",
        name_zh="即梦 图片生成 4.0",
        action="async",
        # Sides implied by area and ratio, as for 3.x: 592 (×1776 reaches 1024² at 1:3) .. 7093 (÷2365).
        # Upstream default is "area 2048², ratio chosen by the model"; the app always sends a concrete size.
        **_sizes(sides=(592, 7093), pixels=(1024 * 1024, 4096 * 4096), ratio=(1 / 3, 3.0), default=(2048, 2048)),
        presets=_presets((1024, 1024, "1:1"), *_with_portraits(*_JIMENG4_2K), *_with_portraits(*_JIMENG4_4K)),
        scale=NumberParam(min=0.0, max=1.0, default=0.5, integer=False),
        # Listed in §3.1; the upstream ignores unknown fields, so sending it is harmless at worst.
        seed=True,
        enhance_prompt=None,  # no use_pre_llm on 4.0: the model reasons about the prompt itself
        # One call may return up to 15 images (the model picks the count from the prompt, billed per image):
        # ask for exactly one per call.
        max_images_per_call=15,
        body_extra=(("force_single", True),),
        # image_urls: 0-10 inputs, JPEG/PNG, ratio [1/3, 3] (§2), URLs only.
        reference_images=10,
        references_need_url=True,
    ),
    ModelSpec(
        id="jimeng_t2i_v30",
        name_en="Jimeng 3.0",
        name_zh="即梦 文生图 3.0",
        action="async",
        **_JIMENG3_SIZES,
        presets=_presets(*_with_portraits(*_JIMENG3_1K), *_with_portraits(*_JIMENG3_2K)),
        enhance_prompt=True,
    ),
    # Seedream 3.0 through CVProcess: the one synchronous "quick" path among the current models (§8).
    ModelSpec(
        id="high_aes_general_v30l_zt2i",
        name_en="General 3.0 (Seedream 3.0)",
        name_zh="通用 3.0 文生图",
        action="sync",
        **_sizes(sides=(512, 2048), pixels=(512 * 512, 2048 * 2048), ratio=(1 / 3, 3.0), default=(1328, 1328)),
        # The 3.x 1K sizes, plus the one 2K size whose sides stay within 2048.
        presets=_presets(*_with_portraits(*_JIMENG3_1K), (2048, 2048, "1:1")),
        scale=NumberParam(min=1.0, max=10.0, default=2.5, integer=False),
        enhance_prompt=False,
        body_extra=(("return_url", False),),
    ),
    # Ark (方舟) Seedream models, served by the Ark engine (docs/notes/seedream-ark.md §1.2-1.3; README, "The Ark engine").
    # Seedream 4.5: sizes by area [2560×1440, 4096×4096] and ratio [1/16, 16]; no 1K tier; no seed and no
    # guidance_scale (the 4.x family takes neither). A third-party report says up to 4704² works; the
    # official tutorial says 4096², which is what is used.
    ModelSpec(
        id="doubao-seedream-4-5-251128",
        name_en="Seedream 4.5 (Ark)",
        name_zh="豆包 Seedream 4.5（方舟）",
        engine="ark",
        action="sync",
        **_ark_4x_sizes(min_pixels=2560 * 1440),
        presets=_presets(*_with_portraits(*_JIMENG4_2K), *_with_portraits(*_JIMENG4_4K)),
        size_tiers=("2K", "4K"),
        seed=False,
        body_extra=_ARK_4X_BODY,
        # The 4.5 tutorial: up to 14 references, jpeg/png/webp (and bmp/tiff/gif, which are not stored here),
        # ratio [1/16, 16].
        reference_images=14,
        group_images=15,
        reference_formats=("png", "jpeg", "webp"),
        reference_min_ratio=1 / 16,
        reference_max_ratio=16.0,
    ),
    # Seedream 4.0: area [1280×720, 4096×4096], ratio [1/16, 16]; tiers 1K, 2K, 4K; no seed, no guidance.
    ModelSpec(
        id="doubao-seedream-4-0-250828",
        name_en="Seedream 4.0 (Ark)",
        name_zh="豆包 Seedream 4.0（方舟）",
        engine="ark",
        action="sync",
        **_ark_4x_sizes(min_pixels=1280 * 720),
        presets=_presets((1024, 1024, "1:1"), *_with_portraits(*_JIMENG4_2K), *_with_portraits(*_JIMENG4_4K)),
        size_tiers=("1K", "2K", "4K"),
        seed=False,
        body_extra=_ARK_4X_BODY,
        # The API page (2025-10): up to 10 references, jpeg/png, ratio [1/3, 3].
        reference_images=10,
        group_images=15,
    ),
    # Seedream 3.0 text-to-image on Ark: WxH with each side in [512, 2048] (the Ark table gives only that
    # range); seed and guidance_scale (default 2.5). The ratio is kept to the CV page's [1/3, 3] for the same
    # model, a conservative choice. Third-party listings show it as "Retiring".
    ModelSpec(
        id="doubao-seedream-3-0-t2i-250415",
        name_en="Seedream 3.0 (Ark)",
        name_zh="豆包 Seedream 3.0 文生图（方舟）",
        engine="ark",
        action="sync",
        **_sizes(sides=(512, 2048), pixels=(512 * 512, 2048 * 2048), ratio=(1 / 3, 3.0), default=(1024, 1024)),
        presets=_presets(*_with_portraits(*_JIMENG3_1K), (2048, 2048, "1:1")),
        scale=NumberParam(min=1.0, max=10.0, default=2.5, integer=False),
    ),
    # Legacy 2.x (§8: "legacy, hidden or optional"). Both actions are documented for these; CVProcess is
    # the primary one on their pages except for general 2.0, whose page is the async one.
    ModelSpec(
        id="high_aes_general_v21_L",
        name_en="General 2.1",
        name_zh="通用 2.1 文生图",
        **_V21,
    ),
    ModelSpec(
        id="jimeng_high_aes_general_v21_L",
        name_en="Jimeng 2.1",
        name_zh="即梦 2.1",
        **_V21,
    ),
    ModelSpec(
        id="high_aes_general_v20_L",
        name_en="General 2.0 Pro",
        name_zh="通用 2.0 Pro",
        action="sync",
        legacy=True,
        aliases=("general_v2.0_L",),  # its documented model_version
        **_V21_SIZES,
        steps=_legacy_steps(16),
        scale=_legacy_scale(3.5),
        enhance_prompt=None,  # prompt rewriting is a fixed req_schedule_conf here, not a use_pre_llm switch
        body_extra=(("return_url", False), ("model_version", "general_v2.0_L"),
                    ("req_schedule_conf", "general_v20_9B_rephraser")),
    ),
    # The seed design's example model: "general_v2.0" is its model_version and is accepted as an alias.
    ModelSpec(
        id="high_aes_general_v20",
        name_en="General 2.0",
        name_zh="通用 2.0",
        action="async",
        legacy=True,
        aliases=("general_v2.0",),
        # 512×512 with use_sr, which the official page strongly recommends
        **_sides_only(256, 680, default=(1024, 1024)),
        super_resolution=True,
        presets=_SR_PRESETS,
        steps=_legacy_steps(16),
        scale=_legacy_scale(3.5),
        body_extra=(("return_url", False), ("model_version", "general_v2.0")),
    ),
)

# Lookup by id or alias, case-insensitively: ids such as "high_aes_general_v21_L" are easy to mistype.
_INDEX: dict[str, ModelSpec] = {}
for _model in _MODELS:
    for _key in (_model.id, *_model.aliases):
        assert _key.lower() not in _INDEX, f"duplicate model id or alias: {_key}"
        _INDEX[_key.lower()] = _model
assert sum(m.is_default for m in _MODELS) == 1, "exactly one model must be the default"
del _model, _key


def all_models() -> list[ModelSpec]:
    """The catalogue in display order: the default first, then newer to older, legacy last."""
    return list(_MODELS)


def get_model(model_id: str) -> ModelSpec | None:
    """The model with this id or alias (case-insensitive), or None."""
    if not isinstance(model_id, str):
        return None
    return _INDEX.get(model_id.strip().lower())


def default_model() -> ModelSpec:
    return next(m for m in _MODELS if m.is_default)
