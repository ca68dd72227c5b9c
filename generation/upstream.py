"""Upstream trouble, for /api/v1/health. The health endpoint must stay cheap and must never call VolcEngine
itself, so workers leave a note in the shared cache: the upstream errors seen since the last success. A
success removes it; it expires after TROUBLE_SECONDS without another error. Rejections that say the service
is working (quota, content, parameters) are not trouble."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

from .engines.base import EngineError

log = logging.getLogger(__name__)

TROUBLE_KEY = "imagegen:upstream-trouble"
TROUBLE_CODES = frozenset({"upstream_unreachable", "upstream_timeout", "upstream_error"})
TROUBLE_SECONDS = 600


def note_error(err: EngineError) -> None:
    if err.code not in TROUBLE_CODES:
        return
    try:
        now = time.time()
        seen = cache.get(TROUBLE_KEY) or {}
        codes = dict(seen.get("codes") or {})
        code = f"{err.code} ({err.upstream_code})" if err.upstream_code else err.code
        codes[code] = codes.get(code, 0) + 1
        cache.set(
            TROUBLE_KEY,
            {"since": seen.get("since", now), "last": now, "codes": codes, "message": err.message[:300]},
            TROUBLE_SECONDS,
        )
    except Exception:  # bookkeeping for the health report must never fail a task
        log.warning("could not record upstream trouble", exc_info=True)


def note_success() -> None:
    try:
        if cache.get(TROUBLE_KEY) is not None:
            cache.delete(TROUBLE_KEY)
    except Exception:
        log.warning("could not clear upstream trouble", exc_info=True)


def trouble() -> dict | None:
    """The note: {"since", "last" (epoch seconds), "codes" {code: count}, "message"}, or None when the
    last upstream call worked or nothing failed for TROUBLE_SECONDS."""
    return cache.get(TROUBLE_KEY)
