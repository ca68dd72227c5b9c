"""CSRF for the API, the way browsers need it and API clients don't.

A request that carries the site's cookies comes from a browser: it must prove it comes from our pages
(the X-CSRFToken header, which app.js sends). A request without cookies (curl, scripts) has no ambient
credential for a forger to ride on, so there is nothing to check."""

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from core.access import accounts_mode


def _has_site_cookies(request) -> bool:
    return bool(request.COOKIES.get(settings.CSRF_COOKIE_NAME) or request.COOKIES.get(settings.SESSION_COOKIE_NAME))


def csrf_failure_reason(request) -> str | None:
    """None when the request may go on; else why it may not."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or not _has_site_cookies(request):
        return None
    check = CsrfViewMiddleware(lambda req: None)
    check.process_request(request)
    response = check.process_view(request, None, (), {})
    return None if response is None else (getattr(response, "reason_phrase", "") or "CSRF")


class BrowserCsrfCheck(BaseAuthentication):
    """Refuses forged browser requests. In open mode it authenticates nobody (the API is open); in accounts
    mode a browser's signed-in session is the user (once the request passed the check)."""

    def authenticate(self, request):
        if csrf_failure_reason(request._request) is not None:
            raise exceptions.PermissionDenied(_("CSRF check failed: reload the page and try again."))
        if accounts_mode():
            user = getattr(request._request, "user", None)
            if user is not None and user.is_authenticated:
                return (user, None)
        return None
