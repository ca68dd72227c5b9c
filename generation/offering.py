"""Which catalogue models this deployment offers, and which engine serves each (README, "Engines").

One deployment can offer CV (智能视觉) and Ark (方舟) models side by side: each ModelSpec names its engine,
and a model is offered — in GET /api/v1/models, the web form and validation alike — only when that engine's
credentials are set (VOLC_ACCESSKEY + VOLC_SECRETKEY for "volcengine", ARK_API_KEY for "ark").

IMAGEGEN_ENGINE keeps its values, with these meanings:
- auto (default): the rule above. With no credentials at all, the CV models are offered and the preview
  engine draws them: `make run` without keys behaves exactly as before the Ark engine existed.
- preview: every catalogue model is offered and the preview engine draws them all (nothing is billed).
- volcengine: the CV models are always offered and always go to VolcEngine, keys or not (the health check
  then says what is missing); Ark models are offered when ARK_API_KEY is set, as with auto.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .catalogue import all_models, default_model, get_model
from .model_specs import ModelSpec

CHOICES = ("auto", "volcengine", "preview")


def _choice() -> str:
    choice = settings.IMAGEGEN_ENGINE
    if choice not in CHOICES:
        raise ImproperlyConfigured(f"IMAGEGEN_ENGINE must be auto, volcengine or preview, not {choice!r}")
    return choice


def engines_with_credentials() -> set[str]:
    found = set()
    if settings.VOLC_ACCESSKEY and settings.VOLC_SECRETKEY:
        found.add("volcengine")
    if settings.ARK_API_KEY:
        found.add("ark")
    return found


def preview_stands_in() -> bool:
    """True when the preview engine draws every offered model (forced, or auto without any credentials)."""
    choice = _choice()
    return choice == "preview" or (choice == "auto" and not engines_with_credentials())


def is_offered(model: ModelSpec) -> bool:
    choice = _choice()
    if choice == "preview":
        return True
    present = engines_with_credentials()
    if choice == "volcengine":
        present.add("volcengine")
    if not present:  # auto without credentials: today's offline studio, the CV catalogue on the preview
        return model.engine == "volcengine"
    return model.engine in present


def offered_models() -> list[ModelSpec]:
    """The offered models, in catalogue order."""
    return [m for m in all_models() if is_offered(m)]


def offered_default() -> ModelSpec | None:
    """The catalogue's default when it is offered, else the first offered model (None: nothing offered)."""
    default = default_model()
    if is_offered(default):
        return default
    return next(iter(offered_models()), None)


def offered_model(model_id: str) -> ModelSpec | None:
    """The offered model with this id or alias, or None (unknown, or its engine has no credentials)."""
    model = get_model(model_id)
    return model if model is not None and is_offered(model) else None


def engine_name_for(model: ModelSpec) -> str:
    """The engine that serves `model` here: "preview" when the preview stands in, else the model's own."""
    return "preview" if preview_stands_in() else model.engine


def deployment_engine_name() -> str:
    """What the deployment runs, for banners and health: "preview", or the real engines of the offered
    models joined with "+" (e.g. "volcengine", "ark", "volcengine+ark")."""
    if preview_stands_in():
        return "preview"
    names = {m.engine for m in offered_models()}
    return "+".join(n for n in ("volcengine", "ark") if n in names) or "none"
