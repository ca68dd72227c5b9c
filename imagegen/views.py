"""Site-wide views: the studio pages (generate, gallery, history, queue, shares, trash), /metrics and the error handlers (JSON envelope under /api/,
HTML elsewhere). The pages are server-rendered shells; their data comes from /api/v1 through
static/js/app.js."""

import ipaddress
import os

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from core.access import accounts_mode
from core.api.clients import client_ip
from core.api.envelope import exception_response
from core.errors import ApplicationError, Forbidden, NotFound
from generation import quotas, spending
from generation.error_messages import RETRY_CANNOT_HELP
from generation.metrics import TaskCollector
from generation.model_specs import MAX_NUM_IMAGES, MAX_PROMPT_LENGTH
from generation.offering import offered_models
from imagegen.people.apis import QuotaOutput, SpendingCapOutput
from streaming.pages import stream_config


def _page_config() -> dict:
    """What the page scripts need, embedded as JSON (json_script: data, not code, so CSP-safe)."""
    return {
        "models": [m.to_dict() for m in offered_models()],
        "maxPromptLength": MAX_PROMPT_LENGTH,
        "maxImages": MAX_NUM_IMAGES,
        "maxBatch": settings.IMAGEGEN_MAX_BATCH_TASKS,
        "stream": stream_config(),
        "retryCannotHelp": list(RETRY_CANNOT_HELP),
    }


@ensure_csrf_cookie
def home(request):
    config = _page_config()
    user = request.user if accounts_mode() else None
    if user is not None:
        # The same figures as GET /api/v1/account, which the page asks again after each submission.
        config["quota"] = QuotaOutput(quotas.quota_usage(user=user)).data
    # In open mode the site's caps alone (GET /api/v1/spending-caps, asked again after each submission).
    config["spendingCaps"] = SpendingCapOutput(spending.usage(spending.caps_for(user), user=user), many=True).data
    return render(request, "pages/generate.html", {"config": config, "page": "generate"})


@ensure_csrf_cookie
def gallery(request):
    return render(request, "pages/gallery.html", {"config": _page_config(), "page": "gallery"})


@ensure_csrf_cookie
def history(request):
    return render(request, "pages/history.html", {"config": _page_config(), "page": "history"})


@ensure_csrf_cookie
def queue(request):
    config = {**_page_config(), "everyoneAllowed": bool(accounts_mode() and request.user.is_staff)}
    return render(request, "pages/queue.html", {"config": config, "page": "queue"})


@ensure_csrf_cookie
def trash(request):
    config = {**_page_config(), "trashDays": settings.IMAGEGEN_TRASH_DAYS}
    return render(request, "pages/trash.html", {"config": config, "page": "trash"})


@ensure_csrf_cookie
def shares(request):
    return render(request, "pages/shares.html", {"config": _page_config(), "page": "shares"})


def favicon(request):
    return redirect(static("img/favicon.svg"), permanent=True)


def _metrics_allowed(request) -> bool:
    token = settings.IMAGEGEN_METRICS_TOKEN
    if token:
        return request.headers.get("Authorization", "") == f"Bearer {token}"
    try:  # behind nginx every connection comes from 127.0.0.1: the proxy-aware address decides
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.IMAGEGEN_METRICS_ALLOW)


def metrics_view(request):
    """Prometheus exposition: the counters every process writes (core/metrics.py) and the task and queue
    figures read from the database (generation/metrics.py)."""
    if not _metrics_allowed(request):
        return HttpResponse("metrics are not available to this client\n", status=403, content_type="text/plain")
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    registry.register(TaskCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return exception_response(NotFound(_("No such API endpoint: %(path)s") % {"path": request.path}))
    return render(request, "404.html", status=404)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the envelope under /api/ (a plain view reached with an unsafe method), Django's
    page elsewhere."""
    if _is_api(request):
        return exception_response(Forbidden(_("CSRF check failed: reload the page and try again.")))
    from django.views.csrf import csrf_failure as default_failure

    return default_failure(request, reason=reason)


def server_error(request):
    if _is_api(request):
        return exception_response(
            ApplicationError(_("An unexpected error occurred on the server."), code="internal_error", status=500))
    return render(request, "500.html", status=500)
