"""Prometheus metrics at /metrics.

Request and upstream counters are written by every process (gunicorn workers, qcluster workers) into
prometheus_client's multiprocess directory and summed at scrape time; task and queue figures are read
from the database when scraped, so every web node reports the same truth."""

from __future__ import annotations

import ipaddress
import os
import time

from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter("imagegen_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "imagegen_http_request_duration_seconds", "HTTP request latency", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UPSTREAM_ERRORS = Counter("imagegen_upstream_errors_total", "Failed upstream calls by code", ["code"])


def record_upstream_error(code: str) -> None:
    UPSTREAM_ERRORS.labels(code=code or "unknown").inc()


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The route pattern, not the path: ids in paths would make one series per task.
        route = match.route if match is not None and match.route else "unmatched"
        LATENCY.labels(route=route).observe(time.perf_counter() - started)
        REQUESTS.labels(method=request.method, route=route, status=str(response.status_code)).inc()
        return response


class TaskCollector:
    """Task and queue figures straight from the database at scrape time."""

    def collect(self):
        from generation.models import GenerationTask, Status

        by_state = GaugeMetricFamily("imagegen_tasks", "Tasks by state", labels=["state"])
        counts = dict(GenerationTask.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        for status in Status:
            by_state.add_metric([status.value], counts.get(status.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "imagegen_queue_length", "Tasks waiting to run (pending or retrying)",
            value=counts.get(Status.PENDING, 0) + counts.get(Status.RETRYING, 0),
        )
        since = timezone.now() - timezone.timedelta(hours=1)
        recent = dict(
            GenerationTask.objects.filter(completed_at__gte=since, status__in=[Status.COMPLETED, Status.FAILED])
            .values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        finished = recent.get(Status.COMPLETED, 0) + recent.get(Status.FAILED, 0)
        yield GaugeMetricFamily(
            "imagegen_success_ratio", "Completed / finished tasks over the last hour (1 when none finished)",
            value=recent.get(Status.COMPLETED, 0) / finished if finished else 1.0,
        )
        oldest = GenerationTask.objects.filter(status=Status.PENDING).order_by("created_at").values_list("created_at", flat=True).first()
        yield GaugeMetricFamily(
            "imagegen_oldest_pending_seconds", "Age of the oldest pending task",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )


def _allowed(request) -> bool:
    token = settings.IMAGEGEN_METRICS_TOKEN
    if token:
        return request.headers.get("Authorization", "") == f"Bearer {token}"
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.IMAGEGEN_METRICS_ALLOW)


def metrics_view(request):
    if not _allowed(request):
        return HttpResponse("metrics are not available to this client\n", status=403, content_type="text/plain")
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    registry.register(TaskCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
