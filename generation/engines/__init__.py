"""Engine selection: IMAGEGEN_ENGINE = auto | volcengine | preview (PRODUCT.md §3).

One engine per process, built on first use, so a worker creates its SDK client after django-q2 forked it.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import Engine
from .preview import PreviewEngine
from .volcengine import VolcEngine

_lock = threading.Lock()
_engine: Engine | None = None
_engine_key: tuple | None = None


def configured_engine_name() -> str:
    choice = settings.IMAGEGEN_ENGINE
    if choice == "auto":
        return "volcengine" if settings.VOLC_ACCESSKEY and settings.VOLC_SECRETKEY else "preview"
    if choice not in ("volcengine", "preview"):
        raise ImproperlyConfigured(f"IMAGEGEN_ENGINE must be auto, volcengine or preview, not {choice!r}")
    return choice


def _build(name: str) -> Engine:
    if name == "preview":
        return PreviewEngine(latency=settings.IMAGEGEN_PREVIEW_LATENCY)
    return VolcEngine.from_settings()


def get_engine() -> Engine:
    """The process's engine. Rebuilt when the settings that choose it change (tests override them)."""
    global _engine, _engine_key
    key = (
        configured_engine_name(),
        settings.IMAGEGEN_PREVIEW_LATENCY,
        settings.VOLC_HOST,
        settings.VOLC_SCHEME,
        settings.VOLC_ACCESSKEY,
        settings.VOLC_SECRETKEY,  # a changed secret alone (a rotated or corrected key) must take effect too
    )
    with _lock:
        if _engine is None or _engine_key != key:
            _engine = _build(key[0])
            _engine_key = key
        return _engine
