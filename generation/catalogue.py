"""The model catalogue shipped with the app, and the rules that turn a request into a generation plan.

Why a catalogue in code: VolcEngine's visual API cannot list its models (volcengine-protocol.md §6), so the
app ships what the official pages say about each `req_key` (§3.1, §8). The catalogue drives three things that
must never disagree: `GET /api/v1/models`, the web form, and validation of `POST /api/v1/generate` (and of the
command-line generator). Hence one module, stdlib + `django.utils.translation` only, importable anywhere
(engines, serializers, management commands) without touching the database.

Sizes. `width`/`height` in a request are the OUTPUT size the user gets. Each model has a native (upstream)
range; the 2.x models can also render at half size and upscale ×2 (`use_sr`), which VolcEngine recommends
for them (PRODUCT.md §4) — so the seed's `general_v2.0` 1024×1024 is sent as 512×512 with `use_sr`.

Unsupported parameters are never an error and never silently dropped: they are kept out of the upstream
call and listed in `GenerationPlan.ignored`, so the task can say so (PRODUCT.md §4).

Every user-facing message goes through `gettext` at call time (not at import), with named placeholders, so
it follows the request's language and Chinese translations can be added without code changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

MAX_PROMPT_LENGTH = 800  # upstream hard limit for every model here (≤120 recommended, 800 maximum)
MAX_NUM_IMAGES = 4  # images per task (the request's num_images), whatever the model returns per call
SEED_MIN, SEED_MAX = -1, 2147483647  # -1 means "random"; the upstream seed is a signed 32-bit int

# Ratios are compared as floats. Equal fractions give equal floats, and two different fractions with
# sides below 10⁴ differ by far more than this, so the tolerance cannot let a wrong ratio through.
_RATIO_EPSILON = 1e-12


@dataclass(frozen=True)
class SizePreset:
    width: int
    height: int
    ratio: str  # e.g. "1:1", "4:3", "16:9", "3:4", "9:16", "3:2", "2:3", "21:9"

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "ratio": self.ratio}


@dataclass(frozen=True)
class NumberParam:
    """A tunable numeric parameter a model supports."""

    min: float
    max: float
    default: float
    integer: bool

    def contains(self, value: float) -> bool:
        # NaN and infinities would slip through or break int(); the request types do not exclude them.
        return math.isfinite(value) and self.min <= value <= self.max

    def coerce(self, value: float) -> int | float:
        return int(value) if self.integer else float(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "supported": True,
            "min": self.coerce(self.min),
            "max": self.coerce(self.max),
            "default": self.coerce(self.default),
            "integer": self.integer,
        }


_UNSUPPORTED_NUMBER = {"supported": False, "min": None, "max": None, "default": None, "integer": None}


@dataclass(frozen=True)
class ModelSpec:
    id: str  # the VolcEngine req_key, e.g. "jimeng_t2i_v31"
    name_en: str
    name_zh: str
    engine: str  # "volcengine" for all of these
    action: str  # "sync" (CVProcess) or "async" (CVSync2AsyncSubmitTask / CVSync2AsyncGetResult)
    is_default: bool  # exactly one model is the default: jimeng_t2i_v31
    legacy: bool  # 2.x models (listed, usable, marked legacy)
    aliases: tuple[str, ...]  # other ids accepted for this model, e.g. ("general_v2.0",)
    # Native (upstream) rules: what may be sent as width/height.
    min_side: int
    max_side: int
    min_pixels: int
    max_pixels: int
    min_ratio: float  # width / height
    max_ratio: float
    # Default OUTPUT size when a request gives neither width nor height. For the 2.x models this is above
    # the native range on purpose: they are meant to be used with use_sr (see the module docstring).
    default_width: int
    default_height: int
    super_resolution: bool  # use_sr: renders at half size and upscales ×2 (both sides)
    presets: tuple[SizePreset, ...]  # recommended OUTPUT sizes, by aspect ratio
    steps: NumberParam | None  # ddim_steps; None = unsupported
    scale: NumberParam | None  # None = unsupported
    negative_prompt: bool  # no VolcEngine CV text-to-image model takes one
    seed: bool
    enhance_prompt: bool | None  # use_pre_llm: None = unsupported, else its default
    max_images_per_call: int

    def output_limits(self) -> tuple[int, int]:
        """Smallest and largest output side the app accepts (the largest doubles with super-resolution)."""
        return self.min_side, self.max_side * (2 if self.super_resolution else 1)

    def output_pixel_limits(self) -> tuple[int, int]:
        """Smallest and largest output area: the native range, ×4 at the top with super-resolution."""
        return self.min_pixels, self.max_pixels * (4 if self.super_resolution else 1)

    def display_name(self) -> str:
        """The name in the active language (Chinese for any zh-* language, English otherwise)."""
        return self.name_zh if (get_language() or "").lower().startswith("zh") else self.name_en

    def to_dict(self) -> dict[str, Any]:
        """JSON for GET /api/v1/models. Sizes are OUTPUT sizes (what a client may ask for)."""
        out_min_side, out_max_side = self.output_limits()
        out_min_pixels, out_max_pixels = self.output_pixel_limits()
        return {
            "id": self.id,
            "name": self.display_name(),
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "engine": self.engine,
            "action": self.action,
            "default": self.is_default,
            "legacy": self.legacy,
            "aliases": list(self.aliases),
            "sizes": {
                "min_side": out_min_side,
                "max_side": out_max_side,
                "min_pixels": out_min_pixels,
                "max_pixels": out_max_pixels,
                "min_ratio": self.min_ratio,
                "max_ratio": self.max_ratio,
                "default_width": self.default_width,
                "default_height": self.default_height,
                "super_resolution": self.super_resolution,
                # What is sent upstream; with super_resolution, larger outputs are made from half of it ×2.
                "native": {
                    "min_side": self.min_side,
                    "max_side": self.max_side,
                    "min_pixels": self.min_pixels,
                    "max_pixels": self.max_pixels,
                },
                "presets": [p.to_dict() for p in self.presets],
            },
            "parameters": {
                "negative_prompt": {"supported": self.negative_prompt},
                "steps": self.steps.to_dict() if self.steps else dict(_UNSUPPORTED_NUMBER),
                "scale": self.scale.to_dict() if self.scale else dict(_UNSUPPORTED_NUMBER),
                "seed": {"supported": self.seed, "min": SEED_MIN, "max": SEED_MAX},
                "enhance_prompt": {
                    "supported": self.enhance_prompt is not None,
                    "default": self.enhance_prompt,
                },
            },
            "max_images_per_call": self.max_images_per_call,
        }


# ---------------------------------------------------------------------------------------------------------
# Catalogue content (volcengine-protocol.md §3.1 and §8)
# ---------------------------------------------------------------------------------------------------------


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
# settings — the seed's own example (steps 20, scale 7.5) must pass as written — and narrow enough to stop
# obvious mistakes. The defaults are the documented example values.
_LEGACY_STEPS_MIN, _LEGACY_STEPS_MAX = 1, 50
_LEGACY_SCALE_MIN, _LEGACY_SCALE_MAX = 1.0, 10.0


def _legacy_steps(default: int) -> NumberParam:
    return NumberParam(min=_LEGACY_STEPS_MIN, max=_LEGACY_STEPS_MAX, default=default, integer=True)


def _legacy_scale(default: float) -> NumberParam:
    return NumberParam(min=_LEGACY_SCALE_MIN, max=_LEGACY_SCALE_MAX, default=default, integer=False)


# Jimeng 3.0/3.1 only limit the area ([512², 2048²]) and the ratio ([1:3, 3:1]). The side range below is
# what those two rules imply (no tighter, no looser; tests check that): a side of 296 needs a partner of
# 888 to reach 512² at 1:3, and 3546 is the longest side whose 1:3 partner keeps the area within 2048².
_JIMENG3_SIZES: dict[str, Any] = dict(
    min_side=296,
    max_side=3546,
    min_pixels=512 * 512,
    max_pixels=2048 * 2048,
    min_ratio=1 / 3,
    max_ratio=3.0,
    default_width=1328,
    default_height=1328,
    super_resolution=False,
)

# Legacy 2.x sizes: only per-side ranges are documented, so area and ratio are those the sides imply.
_V21_SIZES: dict[str, Any] = dict(
    min_side=256,
    max_side=768,
    min_pixels=256 * 256,
    max_pixels=768 * 768,
    min_ratio=256 / 768,
    max_ratio=768 / 256,
    default_width=1024,  # 512×512 upscaled: the documented default side (512) with use_sr
    default_height=1024,
    super_resolution=True,
    presets=_SR_PRESETS,
)

_MODELS: tuple[ModelSpec, ...] = (
    # The default (§8): async only; prompt enhancement on by default.
    ModelSpec(
        id="jimeng_t2i_v31",
        name_en="Jimeng 3.1",
        name_zh="即梦 文生图 3.1",
        engine="volcengine",
        action="async",
        is_default=True,
        legacy=False,
        aliases=(),
        **_JIMENG3_SIZES,
        presets=_presets(*_with_portraits(*_JIMENG3_1K), *_with_portraits(*_JIMENG3_2K)),
        steps=None,
        scale=None,
        negative_prompt=False,
        seed=True,
        enhance_prompt=True,
        max_images_per_call=1,
    ),
    # Seedream 4.0 generation: sizes by area [1024², 4096²] with the default ratio limits [1/3, 3] (the
    # API allows min_ratio/max_ratio down to 1/16 and up to 16, but the app keeps the defaults).
    ModelSpec(
        id="jimeng_t2i_v40",
        name_en="Jimeng 4.0",
        name_zh="即梦 图片生成 4.0",
        engine="volcengine",
        action="async",
        is_default=False,
        legacy=False,
        aliases=(),
        # Sides implied by area and ratio, as for 3.x: 592 (×1776 reaches 1024² at 1:3) .. 7093 (÷2365).
        min_side=592,
        max_side=7093,
        min_pixels=1024 * 1024,
        max_pixels=4096 * 4096,
        min_ratio=1 / 3,
        max_ratio=3.0,
        # Upstream default is "area 2048², ratio chosen by the model"; the app always sends a concrete size.
        default_width=2048,
        default_height=2048,
        super_resolution=False,
        presets=_presets((1024, 1024, "1:1"), *_with_portraits(*_JIMENG4_2K), *_with_portraits(*_JIMENG4_4K)),
        steps=None,
        scale=NumberParam(min=0.0, max=1.0, default=0.5, integer=False),
        negative_prompt=False,
        # Listed in §3.1; the upstream ignores unknown fields, so sending it is harmless at worst.
        seed=True,
        enhance_prompt=None,  # no use_pre_llm on 4.0: the model reasons about the prompt itself
        # One call may return up to 15 images (the model picks the count from the prompt, billed per image).
        # Engines should send force_single unless they want such a set.
        max_images_per_call=15,
    ),
    ModelSpec(
        id="jimeng_t2i_v30",
        name_en="Jimeng 3.0",
        name_zh="即梦 文生图 3.0",
        engine="volcengine",
        action="async",
        is_default=False,
        legacy=False,
        aliases=(),
        **_JIMENG3_SIZES,
        presets=_presets(*_with_portraits(*_JIMENG3_1K), *_with_portraits(*_JIMENG3_2K)),
        steps=None,
        scale=None,
        negative_prompt=False,
        seed=True,
        enhance_prompt=True,
        max_images_per_call=1,
    ),
    # Seedream 3.0 through CVProcess: the one synchronous "quick" path among the current models (§8).
    ModelSpec(
        id="high_aes_general_v30l_zt2i",
        name_en="General 3.0 (Seedream 3.0)",
        name_zh="通用 3.0 文生图",
        engine="volcengine",
        action="sync",
        is_default=False,
        legacy=False,
        aliases=(),
        min_side=512,
        max_side=2048,
        min_pixels=512 * 512,
        max_pixels=2048 * 2048,
        min_ratio=1 / 3,
        max_ratio=3.0,
        default_width=1328,
        default_height=1328,
        super_resolution=False,
        # The 3.x 1K sizes, plus the one 2K size whose sides stay within 2048.
        presets=_presets(*_with_portraits(*_JIMENG3_1K), (2048, 2048, "1:1")),
        steps=None,
        scale=NumberParam(min=1.0, max=10.0, default=2.5, integer=False),
        negative_prompt=False,
        seed=True,
        enhance_prompt=False,
        max_images_per_call=1,
    ),
    # Legacy 2.x (§8: "legacy, hidden or optional"). Both actions are documented for these; CVProcess is
    # the primary one on their pages except for general 2.0, whose page is the async one.
    ModelSpec(
        id="high_aes_general_v21_L",
        name_en="General 2.1",
        name_zh="通用 2.1 文生图",
        engine="volcengine",
        action="sync",
        is_default=False,
        legacy=True,
        aliases=(),
        **_V21_SIZES,
        steps=_legacy_steps(25),
        scale=_legacy_scale(3.5),
        negative_prompt=False,
        seed=True,
        enhance_prompt=True,
        max_images_per_call=1,
    ),
    ModelSpec(
        id="jimeng_high_aes_general_v21_L",
        name_en="Jimeng 2.1",
        name_zh="即梦 2.1",
        engine="volcengine",
        action="sync",
        is_default=False,
        legacy=True,
        aliases=(),
        **_V21_SIZES,
        steps=_legacy_steps(25),
        scale=_legacy_scale(3.5),
        negative_prompt=False,
        seed=True,
        enhance_prompt=True,
        max_images_per_call=1,
    ),
    ModelSpec(
        id="high_aes_general_v20_L",
        name_en="General 2.0 Pro",
        name_zh="通用 2.0 Pro",
        engine="volcengine",
        action="sync",
        is_default=False,
        legacy=True,
        aliases=("general_v2.0_L",),  # its documented model_version
        **_V21_SIZES,
        steps=_legacy_steps(16),
        scale=_legacy_scale(3.5),
        negative_prompt=False,
        seed=True,
        enhance_prompt=None,  # prompt rewriting is a fixed req_schedule_conf here, not a use_pre_llm switch
        max_images_per_call=1,
    ),
    # The seed's example model: "general_v2.0" is its model_version and is accepted as an alias.
    ModelSpec(
        id="high_aes_general_v20",
        name_en="General 2.0",
        name_zh="通用 2.0",
        engine="volcengine",
        action="async",
        is_default=False,
        legacy=True,
        aliases=("general_v2.0",),
        min_side=256,
        max_side=680,
        min_pixels=256 * 256,
        max_pixels=680 * 680,
        min_ratio=256 / 680,
        max_ratio=680 / 256,
        default_width=1024,  # 512×512 with use_sr, which the official page strongly recommends
        default_height=1024,
        super_resolution=True,
        presets=_SR_PRESETS,
        steps=_legacy_steps(16),
        scale=_legacy_scale(3.5),
        negative_prompt=False,
        seed=True,
        enhance_prompt=None,
        max_images_per_call=1,
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


# ---------------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationPlan:
    model: ModelSpec
    prompt: str
    negative_prompt: str | None  # kept for the record even when unsupported (then listed in ignored)
    width: int  # OUTPUT size the user gets
    height: int
    upstream_width: int  # what is sent (half of the output when use_sr)
    upstream_height: int
    use_sr: bool
    num_images: int
    steps: int | None  # None when the model does not support it
    scale: float | None
    seed: int | None  # None = random; the caller picks and records a concrete seed before the call
    enhance_prompt: bool | None
    ignored: tuple[str, ...]  # request fields that were given but the model does not support


class PlanError(Exception):
    """The request breaks the model's rules. `errors` maps field names to translated messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors

    def __str__(self) -> str:
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())


def _num(value: float) -> str:
    """A number as people write it: 1, 2.5, 0.5 (never 1.0)."""
    return f"{value:g}"


def _area(pixels: int) -> str:
    """An area as a square when it is one ("1024×1024"), which is how the docs state the limits."""
    side = math.isqrt(pixels)
    return f"{side}×{side}" if side * side == pixels else f"{pixels:,}"


def _ratio(value: float) -> str:
    """A width/height ratio as "3:1" or "1:3" when it is whole either way, else two decimals."""
    if value >= 1 and abs(value - round(value)) < 1e-9:
        return f"{round(value)}:1"
    if value < 1 and abs(1 / value - round(1 / value)) < 1e-9:
        return f"1:{round(1 / value)}"
    return f"{value:.2f}"


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


# Direction overrides, embeddings and isolates reorder how the text around them is shown (a prompt that
# reads one way and is another, "Trojan Source" style); no language needs them in a prompt. Marks such as
# U+200E/U+200F and joiners (U+200C/U+200D, emoji sequences) are real text and stay allowed.
_DIRECTION_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def unsafe_characters(text: str) -> str:
    """The control and direction-override characters in `text` (at most three, as U+XXXX), or ""."""
    found: list[str] = []
    for ch in text:
        if ch in _ALLOWED_CONTROLS:
            continue
        if ch in _DIRECTION_CONTROLS or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            code = f"U+{ord(ch):04X}"
            if code not in found:
                found.append(code)
                if len(found) == 3:
                    break
    return ", ".join(found)


def _fits_native(model: ModelSpec, w: int, h: int) -> bool:
    ratio = w / h
    return (
        model.min_side <= w <= model.max_side
        and model.min_side <= h <= model.max_side
        and model.min_pixels <= w * h <= model.max_pixels
        and model.min_ratio - _RATIO_EPSILON <= ratio <= model.max_ratio + _RATIO_EPSILON
    )


def _area_and_ratio_errors(
    model: ModelSpec, w: int, h: int, min_pixels: int, max_pixels: int, errors: dict[str, list[str]]
) -> None:
    """Area and ratio depend on both sides, so their messages go on both fields."""
    name = model.display_name()
    if not min_pixels <= w * h <= max_pixels:
        msg = _(
            "The image area (width × height) must be between %(min)s and %(max)s pixels for %(model)s."
        ) % {"min": _area(min_pixels), "max": _area(max_pixels), "model": name}
        _add(errors, "width", msg)
        _add(errors, "height", msg)
    ratio = w / h
    if not model.min_ratio - _RATIO_EPSILON <= ratio <= model.max_ratio + _RATIO_EPSILON:
        msg = _("The aspect ratio (width:height) must be between %(min)s and %(max)s for %(model)s.") % {
            "min": _ratio(model.min_ratio),
            "max": _ratio(model.max_ratio),
            "model": name,
        }
        _add(errors, "width", msg)
        _add(errors, "height", msg)


def _side_message(field: str, key: str) -> str:
    """The translated message `key` for the width or the height.

    Whole sentences per field (rather than one sentence with the field name in a placeholder) so that
    translators can phrase each one naturally.
    """
    messages = {
        ("width", "range"): _("Width must be between %(min)s and %(max)s pixels for %(model)s."),
        ("height", "range"): _("Height must be between %(min)s and %(max)s pixels for %(model)s."),
        ("width", "pair"): _(
            "Give the width too: width and height go together (or leave both out for the default size)."
        ),
        ("height", "pair"): _(
            "Give the height too: width and height go together (or leave both out for the default size)."
        ),
        ("width", "sr_even"): _(
            "Beyond %(native_max)s pixels a side, %(model)s makes a half-size image and upscales it ×2, "
            "so the width must be an even number."
        ),
        ("height", "sr_even"): _(
            "Beyond %(native_max)s pixels a side, %(model)s makes a half-size image and upscales it ×2, "
            "so the height must be an even number."
        ),
        ("width", "sr_range"): _(
            "Beyond %(native_max)s pixels a side, %(model)s makes a half-size image and upscales it ×2, "
            "so the width must then be between %(min)s and %(max)s pixels."
        ),
        ("height", "sr_range"): _(
            "Beyond %(native_max)s pixels a side, %(model)s makes a half-size image and upscales it ×2, "
            "so the height must then be between %(min)s and %(max)s pixels."
        ),
    }
    return messages[(field, key)]


def _plan_size(
    model: ModelSpec, width: int | None, height: int | None, errors: dict[str, list[str]]
) -> tuple[int, int, int, int, bool] | None:
    """(output w, output h, upstream w, upstream h, use_sr), or None after adding errors."""
    if width is None and height is None:
        width, height = model.default_width, model.default_height
    elif width is None or height is None:
        # Upstream only honours the pair; one side alone would be silently dropped there.
        missing = "width" if width is None else "height"
        _add(errors, missing, _side_message(missing, "pair"))
        return None

    name = model.display_name()
    sides = (("width", width), ("height", height))
    found: dict[str, list[str]] = {}

    # 1. Each side within what the app can deliver at all (output terms, so the message gives the range a
    #    client may actually ask for: up to twice the native side with super-resolution).
    lo, hi = model.output_limits()
    for field, value in sides:
        if not lo <= value <= hi:
            _add(found, field, _side_message(field, "range") % {"min": lo, "max": hi, "model": name})

    # 2. Natively possible: send as is. (Even on 2.x: upscaling is only for what the model cannot make.)
    if not found and _fits_native(model, width, height):
        return width, height, width, height, False

    too_large = width > model.max_side or height > model.max_side or width * height > model.max_pixels
    if not found and model.super_resolution and too_large:
        # 3. Beyond the native range on a model that upscales ×2: send half, if half is itself valid.
        for field, value in sides:
            if value % 2:
                message = _side_message(field, "sr_even")
                _add(found, field, message % {"native_max": model.max_side, "model": name})
        if not found:
            half_w, half_h = width // 2, height // 2
            if _fits_native(model, half_w, half_h):
                return width, height, half_w, half_h, True
            sr_lo, sr_hi = 2 * model.min_side, 2 * model.max_side
            for field, value in sides:
                if not sr_lo <= value <= sr_hi:
                    _add(found, field, _side_message(field, "sr_range") % {
                        "native_max": model.max_side, "model": name, "min": sr_lo, "max": sr_hi,
                    })
        if not found:
            _area_and_ratio_errors(model, width, height, 4 * model.min_pixels, 4 * model.max_pixels, found)
    elif not found:
        # 4. Sides are fine (step 1), so the area or the ratio is what the model cannot make.
        _area_and_ratio_errors(model, width, height, model.min_pixels, model.max_pixels, found)

    if not found:
        # Unreachable with consistent limits; kept so that a size upstream would refuse is never planned.
        _add(found, "width", _("This size is not available for %(model)s.") % {"model": name})
    errors.update(found)
    return None


def _plan_number(
    model: ModelSpec,
    field: str,
    param: NumberParam | None,
    value: float | None,
    ignored: list[str],
    errors: dict[str, list[str]],
) -> int | float | None:
    if param is None:
        if value is not None:
            ignored.append(field)
        return None
    if value is None:
        return param.coerce(param.default)
    if not param.contains(value) or (param.integer and value != int(value)):
        label = {"steps": _("Steps"), "scale": _("Scale")}.get(field, field)
        message = (
            _("%(field)s must be a whole number between %(min)s and %(max)s for %(model)s.")
            if param.integer
            else _("%(field)s must be between %(min)s and %(max)s for %(model)s.")
        )
        _add(errors, field, message % {
            "field": label, "min": _num(param.min), "max": _num(param.max), "model": model.display_name(),
        })
        return None
    return param.coerce(value)


def plan_generation(data: dict) -> GenerationPlan:
    """Apply the chosen model's rules to a type-checked request; raise PlanError naming each bad field.

    Every problem found is reported at once (not just the first), so a form can mark all bad fields.
    The prompt is checked again here because management commands plan without a DRF serializer.
    """
    errors: dict[str, list[str]] = {}
    ignored: list[str] = []

    prompt = (data.get("prompt") or "").strip()
    if not prompt:
        _add(errors, "prompt", _("The prompt cannot be empty."))
    elif len(prompt) > MAX_PROMPT_LENGTH:
        _add(errors, "prompt", _("The prompt can be at most %(max)s characters long (it has %(length)s).")
             % {"max": MAX_PROMPT_LENGTH, "length": len(prompt)})
    for field in ("prompt", "negative_prompt"):
        bad = unsafe_characters(data.get(field) or "")
        if bad:
            _add(errors, field, _("Remove the control or text-direction characters (%(characters)s).")
                 % {"characters": bad})

    num_images = data.get("num_images")
    if num_images is None:
        num_images = 1
    elif not 1 <= num_images <= MAX_NUM_IMAGES:
        message = _("The number of images must be between 1 and %(max)s.")
        _add(errors, "num_images", message % {"max": MAX_NUM_IMAGES})

    model_id = data.get("model")
    # None, "" or blanks mean "no preference" (a form's empty select), not an unknown model.
    model = default_model() if model_id is None or not str(model_id).strip() else get_model(model_id)
    if model is None:
        _add(errors, "model", _('Unknown model "%(model)s". Available models: %(choices)s.')
             % {"model": model_id, "choices": ", ".join(m.id for m in _MODELS)})
        raise PlanError(errors)  # the remaining rules all depend on the model

    negative_prompt = (data.get("negative_prompt") or "").strip() or None
    if negative_prompt is not None and not model.negative_prompt:
        ignored.append("negative_prompt")

    size = _plan_size(model, data.get("width"), data.get("height"), errors)

    steps = _plan_number(model, "steps", model.steps, data.get("steps"), ignored, errors)
    scale = _plan_number(model, "scale", model.scale, data.get("scale"), ignored, errors)

    raw_seed = data.get("seed")
    seed: int | None = None
    if raw_seed is not None:
        if not model.seed:
            ignored.append("seed")
        elif not SEED_MIN <= raw_seed <= SEED_MAX:
            _add(errors, "seed", _("The seed must be between %(min)s and %(max)s (-1 means random).")
                 % {"min": SEED_MIN, "max": SEED_MAX})
        elif raw_seed != -1:
            seed = int(raw_seed)

    raw_enhance = data.get("enhance_prompt")
    enhance_prompt: bool | None
    if model.enhance_prompt is None:
        enhance_prompt = None
        if raw_enhance is not None:
            ignored.append("enhance_prompt")
    else:
        enhance_prompt = model.enhance_prompt if raw_enhance is None else bool(raw_enhance)

    if errors or size is None:
        raise PlanError(errors)

    width, height, upstream_width, upstream_height, use_sr = size
    return GenerationPlan(
        model=model,
        prompt=prompt,
        negative_prompt=negative_prompt,
        width=width,
        height=height,
        upstream_width=upstream_width,
        upstream_height=upstream_height,
        use_sr=use_sr,
        num_images=int(num_images),
        steps=None if steps is None else int(steps),
        scale=None if scale is None else float(scale),
        seed=seed,
        enhance_prompt=enhance_prompt,
        ignored=tuple(ignored),
    )
