"""Accounts mode: every page needs a signed-in user (the API answers 401 itself, see auth.py)."""

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware

from .access import accounts_mode

# The API and the admin have their own answers (401; the admin's login page); the rest serve the login
# page itself (its language switch and catalogue) or need no user.
EXEMPT_PREFIXES = ("/api/", "/admin/", "/i18n/", "/jsi18n/", "/metrics", "/favicon.ico")


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if not accounts_mode() or request.path.startswith(EXEMPT_PREFIXES):
            return None
        if request.path.startswith((settings.STATIC_URL, settings.MEDIA_URL)):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
