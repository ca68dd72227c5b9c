"""What the app knows of a model: its size rules, its parameters and how it is described to clients
(`GET /api/v1/models`), and the request limits common to every model. The types of the catalogue
(catalogue.py), which holds the models themselves; planning.py applies them to requests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import get_language

MAX_PROMPT_LENGTH = 800  # upstream hard limit for every model here (≤120 recommended, 800 maximum)
MAX_NUM_IMAGES = 4  # images per task (the request's num_images), whatever the model returns per call
SEED_MIN, SEED_MAX = -1, 2147483647  # -1 means "random"; the upstream seed is a signed 32-bit int
# Reference images, for every model that takes them (docs/notes/seedream-ark.md §1.3, the Ark API page and the
# 4.5 tutorial agree on these): at most 10 MB, each side over 14 px and at most 6000 px.
REFERENCE_MAX_BYTES = 10 * 1024 * 1024
REFERENCE_MIN_SIDE = 15
REFERENCE_MAX_SIDE = 6000


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


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One model. The defaults are what most VolcEngine text-to-image models have, so the catalogue states
    only what sets a model apart."""

    id: str  # the VolcEngine req_key, e.g. "jimeng_t2i_v31", or the Ark model id

    name_en: str
    name_zh: str
    engine: str = "volcengine"  # the engine that serves it: "volcengine" (CV API) or "ark" (Ark images API)
    action: str  # "sync" (CVProcess, or Ark's one request) or "async" (CVSync2AsyncSubmitTask / GetResult)
    is_default: bool = False  # exactly one model is the default: jimeng_t2i_v31
    legacy: bool = False  # 2.x models (listed, usable, marked legacy)
    aliases: tuple[str, ...] = ()  # other ids accepted for this model, e.g. ("general_v2.0",)
    # Native (upstream) rules: what may be sent as width/height.
    min_side: int
    max_side: int
    min_pixels: int
    max_pixels: int
    min_ratio: float  # width / height
    max_ratio: float
    # Default OUTPUT size when a request gives neither width nor height. For the 2.x models this is above
    # the native range on purpose: they are meant to be used with use_sr (see planning.py).
    default_width: int
    default_height: int
    super_resolution: bool = False  # use_sr: renders at half size and upscales ×2 (both sides)
    presets: tuple[SizePreset, ...]  # recommended OUTPUT sizes, by aspect ratio
    # Size keywords the upstream also takes instead of WxH (Ark: "1K", "2K", "4K", with the ratio then picked
    # by the model). The app always sends an exact WxH; listed so clients know what the model supports.
    size_tiers: tuple[str, ...] = ()
    steps: NumberParam | None = None  # ddim_steps; None = unsupported
    scale: NumberParam | None = None  # None = unsupported (Ark: guidance_scale)
    negative_prompt: bool = False  # no VolcEngine CV text-to-image model takes one
    seed: bool = True
    enhance_prompt: bool | None = None  # use_pre_llm: None = unsupported, else its default
    max_images_per_call: int = 1
    # Group generation (Ark 4.x: sequential_image_generation "auto" with max_images): one request makes up to
    # this many related images, references included (§1.3: references + outputs ≤ 15); 0 = not offered.
    group_images: int = 0
    # Reference images: how many one request may carry (0: none), their formats and aspect-ratio range.
    reference_images: int = 0
    reference_formats: tuple[str, ...] = ("png", "jpeg")
    reference_min_ratio: float = 1 / 3
    reference_max_ratio: float = 3.0
    # The upstream takes references only as URLs it can fetch (jimeng_t2i_v40's image_urls): offered only when
    # the files are in object storage whose presigned URLs VolcEngine can reach (IMAGEGEN_S3_REFERENCE_URLS).
    references_need_url: bool = False
    # Fixed fields of the upstream request body besides those the parameters above imply (the engine adds
    # use_pre_llm, scale, ddim_steps and use_sr only for a model that takes them): docs/spec/volcengine-protocol.md §3.
    body_extra: tuple[tuple[str, Any], ...] = ()

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
                "tiers": list(self.size_tiers),
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
            "reference_images": self.reference_limits(),
            # `group: true` on POST /api/v1/generate: one request for "up to num_images" related images.
            "group": {"supported": self.group_images > 0, "max_total_with_references": self.group_images},
        }

    @property
    def takes_references(self) -> bool:
        if self.references_need_url and not settings.IMAGEGEN_S3_REFERENCE_URLS:
            return False
        return self.reference_images > 0

    def reference_unavailable_reason(self) -> str | None:
        """Why this model takes no reference images here, in the active language; None when it takes them."""
        from django.utils.translation import gettext

        if self.takes_references:
            return None
        if self.references_need_url:
            return gettext("This model takes reference images only as web addresses VolcEngine can fetch, which "
                           "needs object storage with presigned URLs; this server does not offer that.")
        return gettext("This model does not take reference images.")

    def reference_limits(self) -> dict[str, Any]:
        return {
            "supported": self.takes_references,
            "max": self.reference_images if self.takes_references else 0,
            "formats": list(self.reference_formats),
            "max_bytes": REFERENCE_MAX_BYTES,
            "min_side": REFERENCE_MIN_SIDE,
            "max_side": REFERENCE_MAX_SIDE,
            "min_ratio": self.reference_min_ratio,
            "max_ratio": self.reference_max_ratio,
            "unavailable_reason": self.reference_unavailable_reason(),
            # The model could take them with object storage serving presigned URLs (the form says why not).
            "needs_presigned_urls": self.references_need_url,
        }
