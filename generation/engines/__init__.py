"""Engine selection: each model is served by its catalogue engine ("volcengine" or "ark"), or by the preview
engine when it stands in (generation/offering.py says when; README, "Engines").

One engine object per kind and process, built on first use, so a worker creates its SDK clients after
django-q2 forked it.
"""

from __future__ import annotations

import threading

from django.conf import settings

from ..catalogue import get_model
from ..model_specs import ModelSpec
from ..offering import deployment_engine_name, engine_name_for, offered_default, offered_models
from .ark import ArkEngine
from .base import Engine
from .preview import PreviewEngine
from .volcengine import VolcEngine

_lock = threading.Lock()
_engines: dict[str, tuple[tuple, Engine]] = {}


def configured_engine_name() -> str:
    """The deployment's engines: "preview", "volcengine", "ark" or "volcengine+ark"."""
    return deployment_engine_name()


def _settings_key(name: str) -> tuple:
    if name == "preview":
        return (settings.IMAGEGEN_PREVIEW_LATENCY,)
    if name == "ark":
        return (settings.ARK_BASE_URL, settings.ARK_API_KEY, settings.ARK_CONNECT_TIMEOUT, settings.ARK_READ_TIMEOUT,
                settings.ARK_IMAGES_PER_MINUTE)
    # a changed secret alone (a rotated or corrected key) must take effect too
    return (settings.VOLC_HOST, settings.VOLC_SCHEME, settings.VOLC_ACCESSKEY, settings.VOLC_SECRETKEY)


def _build(name: str) -> Engine:
    if name == "preview":
        return PreviewEngine(latency=settings.IMAGEGEN_PREVIEW_LATENCY)
    if name == "ark":
        return ArkEngine.from_settings()
    return VolcEngine.from_settings()


def engine_named(name: str) -> Engine:
    """The process's engine of this kind. Rebuilt when the settings it is made from change (tests override
    them)."""
    key = _settings_key(name)
    with _lock:
        cached = _engines.get(name)
        if cached is None or cached[0] != key:
            cached = (key, _build(name))
            _engines[name] = cached
        return cached[1]


def get_engine_for(model: ModelSpec | str) -> Engine:
    """The engine that serves `model` (a spec, or a catalogue id; an unknown id gets the default's engine)."""
    spec = get_model(model) if isinstance(model, str) else model
    if spec is None:
        spec = offered_default()
    return engine_named("preview" if spec is None else engine_name_for(spec))


def engines_in_use() -> list[Engine]:
    """The engines behind the offered models (for health and the page banner), CV first."""
    names = {engine_name_for(m) for m in offered_models()} or {"preview"}
    return [engine_named(n) for n in ("volcengine", "ark", "preview") if n in names]


def get_engine() -> Engine:
    """The engine of the default offered model: the one the pages and the system API name."""
    return get_engine_for(offered_default() or "")
