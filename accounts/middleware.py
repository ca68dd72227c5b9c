"""Accounts mode: every page needs a signed-in user (the API answers 401 itself, see auth.py)."""

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware

from core.access import accounts_mode

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


class SecondFactorMiddleware:
    """Accounts mode with IMAGEGEN_STAFF_2FA: a staff session signed in without a second factor (from before
    the setting, or through a way that asks for none) is signed out, so staff reach nothing, the console
    included, without one. Users who turned two-factor on have their other sessions ended at that moment
    (imagegen/people/views.py), so this needs no query per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if accounts_mode() and user is not None and user.is_authenticated and user.is_staff \
                and settings.IMAGEGEN_STAFF_2FA and not user.is_verified():
            from django.contrib.auth import logout

            logout(request)
        return self.get_response(request)
