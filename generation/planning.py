"""Planning: the rules that turn a request into a generation plan, for the API, the web form and the
command-line generator alike.

Sizes. `width`/`height` in a request are the OUTPUT size the user gets. Each model has a native (upstream)
range; the 2.x models can also render at half size and upscale ×2 (`use_sr`), which VolcEngine recommends
for them (docs/spec/PRODUCT.md §4) — so the seed design's `general_v2.0` 1024×1024 is sent as 512×512 with `use_sr`.

Unsupported parameters are never an error and never silently dropped: they are kept out of the upstream
call and listed in `GenerationPlan.ignored`, so the task can say so (docs/spec/PRODUCT.md §4).

Every user-facing message goes through `gettext` at call time (not at import), with named placeholders, so
it follows the request's language and Chinese translations can be added without code changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .catalogue import get_model
from .model_specs import MAX_NUM_IMAGES, MAX_PROMPT_LENGTH, SEED_MAX, SEED_MIN, ModelSpec, NumberParam
from .offering import is_offered, offered_default, offered_models

# Ratios are compared as floats. Equal fractions give equal floats, and two different fractions with
# sides below 10⁴ differ by far more than this, so the tolerance cannot let a wrong ratio through.
_RATIO_EPSILON = 1e-12


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
    group: bool  # one group-generation request for up to num_images images (model_specs.ModelSpec.group_images)
    steps: int | None  # None when the model does not support it
    scale: float | None
    seed: int | None  # None = random; the caller picks and records a concrete seed before the call
    enhance_prompt: bool | None
    ignored: tuple[str, ...]  # request fields that were given but the model does not support
    # Reference images (stored uploads, task references or gallery images: anything with file_path, width,
    # height and format), in the order given; checked against the model's limits.
    references: tuple = ()


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
        label = {"steps": _("Steps"), "scale": _("Scale")}[field]
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
    # Only offered models (their engine has credentials here: offering.py) are accepted.
    model = offered_default() if model_id is None or not str(model_id).strip() else get_model(model_id)
    choices = ", ".join(m.id for m in offered_models())
    if model is None:
        _add(errors, "model", _('Unknown model "%(model)s". Available models: %(choices)s.')
             % {"model": model_id, "choices": choices})
        raise PlanError(errors)  # the remaining rules all depend on the model
    if not is_offered(model):
        _add(errors, "model", _('The model "%(model)s" is not available on this server (its engine is not '
                                'configured). Available models: %(choices)s.') % {"model": model.id, "choices": choices})
        raise PlanError(errors)

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

    references = tuple(data.get("reference_images") or ())
    for message in reference_errors(model, references):
        _add(errors, "reference_images", message)
    group = bool(data.get("group"))
    if group and not model.group_images:
        _add(errors, "group", _("%(model)s does not make images in groups.") % {"model": model.id})
    elif group and len(references) + int(num_images or 1) > model.group_images:
        _add(errors, "group", _("In a group, %(model)s takes at most %(max)d reference and result images "
                                "together (%(count)d asked for).")
             % {"model": model.id, "max": model.group_images, "count": len(references) + int(num_images or 1)})

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
        group=group,
        steps=None if steps is None else int(steps),
        scale=None if scale is None else float(scale),
        seed=seed,
        enhance_prompt=enhance_prompt,
        ignored=tuple(ignored),
        references=references,
    )


def reference_errors(model: ModelSpec, references: tuple) -> list[str]:
    """What breaks the model's reference-image limits (count, format, aspect ratio), as translated messages."""
    if not references:
        return []
    if not model.takes_references:
        return [model.reference_unavailable_reason()]
    errors = []
    if len(references) > model.reference_images:
        errors.append(_("%(model)s takes at most %(max)d reference images (%(count)d given).")
                      % {"model": model.id, "max": model.reference_images, "count": len(references)})
    for number, ref in enumerate(references, start=1):
        if ref.format not in model.reference_formats:
            errors.append(_("Reference image %(number)d is %(format)s; %(model)s takes %(formats)s.")
                          % {"number": number, "format": ref.format.upper(), "model": model.id,
                             "formats": ", ".join(f.upper() for f in model.reference_formats)})
        ratio = ref.width / ref.height
        if not model.reference_min_ratio - _RATIO_EPSILON <= ratio <= model.reference_max_ratio + _RATIO_EPSILON:
            errors.append(_("Reference image %(number)d is %(width)d×%(height)d; %(model)s takes aspect ratios "
                            "(width/height) between %(min)s and %(max)s.")
                          % {"number": number, "width": ref.width, "height": ref.height, "model": model.id,
                             "min": _ratio(model.reference_min_ratio), "max": _ratio(model.reference_max_ratio)})
    return errors
