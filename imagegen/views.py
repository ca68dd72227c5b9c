"""Site-wide views: the start page and the error handlers (JSON envelope under /api/, HTML elsewhere)."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from imagegen.api.errors import error_response


def home(request):
    return render(request, "home.html")


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
