"""Who is asking, in accounts mode: an API token (`Authorization: Bearer …`) or the browser's session.

In open mode nobody is authenticated here: the classes return None, DRF's request.user is None
(UNAUTHENTICATED_USER) and the selectors, given user=None, filter nothing. In accounts mode every API view
but the health check needs a user, so its request.user is the owner to filter by."""

from __future__ import annotations

from functools import wraps

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from .access import accounts_mode

WWW_AUTHENTICATE = 'Bearer realm="imagegen"'
MAX_TOKEN_LENGTH = 200


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer` header; None when the header is absent or another scheme."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def token_user(request):
    """The active user behind the request's bearer token, None without one; AuthenticationFailed for an
    unknown, revoked or malformed token (never echoed back)."""
    from .services import token_authenticate

    raw = bearer_token(request)
    if raw is None:
        return None
    user = token_authenticate(raw=raw) if raw and len(raw) <= MAX_TOKEN_LENGTH else None
    if user is None:
        raise exceptions.AuthenticationFailed(_("The API token is not valid: unknown, revoked or malformed."))
    return user


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        if not accounts_mode():
            return None
        user = token_user(request._request)
        return None if user is None else (user, None)

    def authenticate_header(self, request):
        return WWW_AUTHENTICATE


def not_signed_in_message() -> str:
    return _("Sign in first, or send an API token: Authorization: Bearer <token>.")


class SignedInIfRequired(BasePermission):
    """Open mode: everyone. Accounts mode: a signed-in user (a 401 in the envelope otherwise)."""

    def has_permission(self, request, view):
        if not accounts_mode():
            return True
        user = request.user
        if user is not None and user.is_authenticated:
            return True
        raise exceptions.NotAuthenticated(not_signed_in_message())


class NotSignedIn(Exception):
    """A plain (non-DRF) request in accounts mode without a usable token or session: a 401."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code, self.message = code, message


def caller(request):
    """Who makes a plain (non-DRF) request: None in open mode; in accounts mode the user of its bearer
    token, else of its session. NotSignedIn when there is neither (or the token is bad)."""
    if not accounts_mode():
        return None
    try:
        user = token_user(request)
    except exceptions.AuthenticationFailed as exc:
        raise NotSignedIn("authentication_failed", exc.detail) from None
    if user is None and request.user.is_authenticated:
        user = request.user
    if user is None:
        raise NotSignedIn("not_authenticated", not_signed_in_message())
    return user


def api_user(view):
    """For the plain (non-DRF) views under /api/: resolves the caller like the DRF views do and passes it
    as `user` (None in open mode); a caller who is not signed in gets the 401 envelope."""
    from imagegen.api.errors import error_response

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            user = caller(request)
        except NotSignedIn as err:
            return error_response(err.code, err.message, 401, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        return view(request, *args, user=user, **kwargs)

    return wrapper


class StaffInAccountsMode(BasePermission):
    """Site-wide figures (every user's task counts, storage) are for staff once there are accounts."""

    def has_permission(self, request, view):
        if not accounts_mode():
            return True
        user = request.user
        if user is not None and user.is_authenticated and user.is_staff:
            return True
        raise exceptions.PermissionDenied(_("In accounts mode only staff see the site-wide figures."))
