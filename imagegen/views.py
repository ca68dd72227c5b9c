"""Site-wide views: the three studio pages and the error handlers (JSON envelope under /api/, HTML
elsewhere). The pages are server-rendered shells; their data comes from /api/v1 through static/js/app.js."""

from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie

from generation.catalogue import MAX_NUM_IMAGES, MAX_PROMPT_LENGTH, all_models
from imagegen.api.errors import error_response
from streaming.pages import stream_config


def _page_config() -> dict:
    """What the page scripts need, embedded as JSON (json_script: data, not code, so CSP-safe)."""
    return {
        "models": [m.to_dict() for m in all_models()],
        "maxPromptLength": MAX_PROMPT_LENGTH,
        "maxImages": MAX_NUM_IMAGES,
        "stream": stream_config(),
    }


@ensure_csrf_cookie
def home(request):
    return render(request, "pages/generate.html", {"config": _page_config(), "page": "generate"})


@ensure_csrf_cookie
def gallery(request):
    return render(request, "pages/gallery.html", {"config": _page_config(), "page": "gallery"})


@ensure_csrf_cookie
def history(request):
    return render(request, "pages/history.html", {"config": _page_config(), "page": "history"})


def favicon(request):
    return redirect(static("img/favicon.svg"), permanent=True)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return error_response("not_found", _("No such API endpoint: %(path)s") % {"path": request.path}, 404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return error_response("internal_error", _("An unexpected error occurred on the server."), 500)
    return render(request, "500.html", status=500)
