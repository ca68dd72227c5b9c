"""Planning a batch: one request that names several ordinary tasks.

A batch varies the request along up to three axes, multiplied together: the prompts (one task per prompt),
the variations (N tasks of each prompt with different seeds) and a sweep over one parameter (seed, size or
model). Every task is planned by the catalogue's own rules (plan_generation); a batch is refused whole if
any of its tasks would be, naming the task.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from .model_specs import SEED_MAX
from .planning import GenerationPlan, PlanError, plan_generation

SWEEP_PARAMS = ("seed", "size", "model")
_SIZE = re.compile(r"^\s*(\d{1,6})\s*[x×*]\s*(\d{1,6})\s*$")


@dataclass(frozen=True)
class BatchPlan:
    kind: str  # what varies, e.g. "variations", "prompts+seed"
    plans: list[GenerationPlan]


def max_batch_tasks() -> int:
    return settings.IMAGEGEN_MAX_BATCH_TASKS


def plan_batch(data: dict) -> BatchPlan:
    """`data`: a type-checked batch request (generation fields plus prompts, variations and sweep).
    Raises PlanError naming each bad field; task errors are named by the task's place in the batch."""
    prompts = data.get("prompts") or ([data["prompt"]] if data.get("prompt") is not None else [])
    variations = data.get("variations") or 1
    sweep = data.get("sweep")
    if not prompts:
        raise PlanError({"prompts": [_("Give a prompt, or a list of prompts.")]})
    if data.get("prompts") and data.get("prompt") is not None:
        raise PlanError({"prompt": [_("Give either a prompt or a list of prompts, not both.")]})
    values = _sweep_values(sweep) if sweep else [None]
    total = len(prompts) * variations * len(values)
    limit = max_batch_tasks()
    if total > limit:
        raise PlanError({"non_field_errors": [
            _("This batch would make %(total)d tasks; at most %(limit)d are allowed in one batch.")
            % {"total": total, "limit": limit}]})
    if variations > 1 and sweep and sweep["param"] == "seed":
        raise PlanError({"variations": [_("Variations choose their own seeds; do not combine them with a seed sweep.")]})

    base = {k: v for k, v in data.items() if k not in ("prompts", "variations", "sweep")}
    plans: list[GenerationPlan] = []
    errors: dict[str, list[str]] = {}
    for p, prompt in enumerate(prompts):
        for value in values:
            request = {**base, "prompt": prompt, **_swept(sweep, value)}
            seeds = _variation_seeds(request.get("seed"), variations)
            for seed in seeds:
                try:
                    plans.append(plan_generation({**request, "seed": seed}))
                except PlanError as err:
                    where = _where(prompts, p, sweep, value)
                    for field, messages in err.errors.items():
                        errors.setdefault(f"{where}{field}", messages)
    if errors:
        raise PlanError(errors)
    kind = "+".join(part for part, on in (("prompts", len(prompts) > 1), ("variations", variations > 1),
                                           (sweep["param"] if sweep else "", bool(sweep))) if on) or "single"
    return BatchPlan(kind=kind, plans=plans)


def _sweep_values(sweep: dict) -> list:
    param, values = sweep["param"], sweep["values"]
    if param == "size":
        sizes, bad = [], []
        for value in values:
            match = _SIZE.match(str(value))
            if match:
                sizes.append((int(match[1]), int(match[2])))
            else:
                bad.append(str(value))
        if bad:
            raise PlanError({"sweep.values": [
                _("Sizes are written WIDTHxHEIGHT, such as 1024x768 (not %(bad)s).") % {"bad": ", ".join(bad)}]})
        return sizes
    if param == "seed":
        bad = [str(v) for v in values if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= SEED_MAX]
        if bad:
            raise PlanError({"sweep.values": [
                _("Seeds are whole numbers from 0 to %(max)d (not %(bad)s).") % {"max": SEED_MAX, "bad": ", ".join(bad)}]})
    if param == "model":
        bad = [str(v) for v in values if not isinstance(v, str) or not v.strip()]
        if bad:
            raise PlanError({"sweep.values": [_("Models are named by their id, such as those of /api/v1/models.")]})
    return list(values)


def _swept(sweep: dict | None, value) -> dict:
    if not sweep:
        return {}
    if sweep["param"] == "size":
        return {"width": value[0], "height": value[1]}
    return {sweep["param"]: value}


def _variation_seeds(seed: int | None, variations: int) -> list[int | None]:
    """One seed per variation: from a given seed, the next ones (a reproducible series); else random."""
    if variations == 1:
        return [seed]
    if seed is None or seed < 0:
        return [random.randint(0, SEED_MAX) for _ in range(variations)]
    return [(seed + i) % (SEED_MAX + 1) for i in range(variations)]


def _where(prompts: list[str], index: int, sweep: dict | None, value) -> str:
    parts = []
    if len(prompts) > 1:
        parts.append(f"prompts[{index}]")
    if sweep:
        shown = f"{value[0]}x{value[1]}" if sweep["param"] == "size" else value
        parts.append(f"{sweep['param']}={shown}")
    return (" ".join(parts) + ": ") if parts else ""
