"""/api/v1/system/info and /api/v1/health: operations. Nothing here ever includes a secret."""

from __future__ import annotations

import platform
import time
import uuid

import django
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Sum
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import SignedInIfRequired, StaffInAccountsMode
from core.api.throttling import ApiThrottle
from core.version import VERSION
from generation import broker, selectors, spending, supervision, upstream
from generation.engines import configured_engine_name, engines_in_use, get_engine
from generation.models import Image


def broker_info() -> dict:
    figures = broker.queue_figures()
    return {
        "type": "orm" if settings.IMAGEGEN_BROKER == "orm" else "redis",
        "queued_messages": figures["queued_messages"],
        "clusters_seen": figures["clusters"],
        "workers_seen": figures["workers"],
    }


class SystemInfoApi(APIView):
    throttle_classes = [ApiThrottle]
    permission_classes = [SignedInIfRequired, StaffInAccountsMode]

    @extend_schema(
        operation_id="system_info",
        summary="Version, engine, queue and storage figures",
        responses={200: inline_serializer("SystemInfo", {"version": serializers.CharField()})},
    )
    def get(self, request):
        engine = get_engine()
        counts = selectors.queue_stats()
        storage = Image.objects.aggregate(originals=Sum("file_size"), thumbnails=Sum("thumbnail_size"))
        return Response(
            {
                "version": VERSION,
                "engine": {"name": engine.name, "label": str(engine.label), "preview": engine.is_preview},
                "queue": {
                    "depth": counts["pending"] + counts["retrying"],
                    "running": counts["processing"],
                    **broker_info(),
                },
                "tasks": counts,
                "success_rate": selectors.success_rate(),
                "average_duration_seconds": selectors.average_duration(),
                "storage": {
                    "images": Image.objects.count(),
                    "bytes": (storage["originals"] or 0) + (storage["thumbnails"] or 0),
                    "backend": default_storage.__class__.__name__,
                },
                "limits": {
                    "max_unfinished_per_client": settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT,
                    "max_queued_per_client": settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT,
                    "create_rate": settings.IMAGEGEN_CREATE_RATE,
                    "edit_rate": settings.IMAGEGEN_EDIT_RATE,
                    "read_rate": settings.IMAGEGEN_READ_RATE,
                    "max_prompt_length": 800,
                },
                "runtime": {
                    "python": platform.python_version(),
                    "django": django.get_version(),
                    "database": connection.vendor,
                },
            }
        )


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # a health check reports, it does not raise
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _storage():
    name = default_storage.save(f"health/{uuid.uuid4().hex}.probe", ContentFile(b"ok"))
    default_storage.delete(name)
    return default_storage.__class__.__name__


def _engine():
    # Every engine behind an offered model must be ready (CV and Ark can both be in use).
    details = []
    for engine in engines_in_use():
        result = engine.check()
        if not result.get("ok"):
            raise RuntimeError(result.get("detail", "engine not ready"))
        details.append(result.get("detail", ""))
    return f"{configured_engine_name()}: {'; '.join(details)}"


def _upstream():
    """Upstream errors the workers saw with no success since (one cache read; VolcEngine is never called
    from here: a probe on every health request would cost quota and hide behind its own timeouts)."""
    trouble = upstream.trouble()
    if trouble:
        now = time.time()
        codes = trouble["codes"]
        raise RuntimeError(
            f"{sum(codes.values())} upstream errors over the last {now - trouble['since']:.0f}s and no success "
            f"since ({', '.join(f'{code} x{n}' for code, n in codes.items())}); "
            f"the latest {now - trouble['last']:.0f}s ago: {trouble['message']}"
        )
    return "no upstream errors since the last success"


def _worker() -> dict:
    """The worker cluster's stall signal (generation/supervision.py) with its figures. A stalled cluster
    is not ok, but it does not make the endpoint a 503: the web side still accepts and serves, the
    supervisor replaces the cluster within seconds and the waiting tasks then run."""
    started = time.perf_counter()
    try:
        state = supervision.worker_state()
    except Exception as exc:
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}", "ms": round((time.perf_counter() - started) * 1000, 1)}
    figures = state.as_dict()
    return {
        "ok": state.ok,
        "detail": state.describe(),
        "ms": round((time.perf_counter() - started) * 1000, 1),
        **{k: figures[k] for k in ("queued", "oldest_waiting_seconds", "last_heartbeat_seconds", "running",
                                   "restarts", "stalled", "recovering", "stall_seconds")},
    }


def _spending() -> dict:
    """Spending caps at 80% or more of their limit: staff's warning. Never a 503, and no "degraded" either:
    a cap nearly used is a budget working, not the service failing. Health answers anyone, so users' own
    caps are only counted here, never named (the console names them)."""
    started = time.perf_counter()
    try:
        rows = spending.warnings()
    except Exception as exc:
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}", "ms": round((time.perf_counter() - started) * 1000, 1)}
    site = [{"cap": row["cap"], "limit": str(row["limit"]), "used": str(row["used"]),
             "remaining": str(row["remaining"]), "resets_at": row["resets_at"].isoformat().replace("+00:00", "Z")}
            for row in rows if row["scope"] == "site"]
    users = len({row["user"] for row in rows if row["scope"] == "user"})
    parts = [f"{w['cap']}: {w['used']} of {w['limit']} used" for w in site]
    if users:
        parts.append(f"{users} user(s) at 80% or more of their own caps")
    return {"ok": True, "detail": "; ".join(parts) or "no spending cap is at 80% or more", "warnings": site,
            "users_near_a_cap": users, "ms": round((time.perf_counter() - started) * 1000, 1)}


# Checks that make the endpoint answer 503. Upstream trouble is only reported: the app still takes tasks
# (they wait and retry) and serves the gallery, so a load balancer must not take it out of service. A
# stalled worker cluster is reported the same way ("degraded"): taking the web out of service would not
# bring the workers back (their supervisor does) and would stop users from even seeing their tasks.
CRITICAL = ("database", "broker", "storage", "engine")


HEALTH = inline_serializer("Health", {"status": serializers.CharField(), "checks": serializers.DictField()})


class HealthApi(APIView):
    throttle_classes = []
    # Load balancers ask without credentials, in either access mode.
    authentication_classes = []
    permission_classes = []

    @extend_schema(
        operation_id="health",
        summary="Readiness of database, broker, storage and engine (200 or 503); upstream trouble and a stalled "
        "worker cluster are reported (200, degraded)",
        responses={200: HEALTH, 503: HEALTH},
    )
    def get(self, request):
        checks = {
            "database": _check(_database),
            "broker": _check(broker.broker_check),
            "storage": _check(_storage),
            "engine": _check(_engine),
            "upstream": _check(_upstream),
            "worker": _worker(),
            "spending": _spending(),
        }
        healthy = all(checks[name]["ok"] for name in CRITICAL)
        state = "unhealthy" if not healthy else "ok" if all(c["ok"] for c in checks.values()) else "degraded"
        return Response(
            {"status": state, "checks": checks},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
