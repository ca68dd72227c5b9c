"""Prometheus counters written by every process: requests, latency and failed upstream calls.

They go into prometheus_client's multiprocess directory and are summed at scrape time. The task and queue
figures are read from the database when scraped (generation/metrics.py); /metrics itself is served by the
project (imagegen/views.py)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

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
