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

from core.access import accounts_mode
from core.api.envelope import plain_api_view
from core.errors import NotSignedIn

from . import signing
from .services import PREFIX_LENGTH, token_expired, token_lookup

WWW_AUTHENTICATE = NotSignedIn.WWW_AUTHENTICATE
MAX_TOKEN_LENGTH = 200


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer` header; None when the header is absent or another scheme."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def required_scope(request) -> str:
    """read for GET/HEAD/OPTIONS, generate for creating tasks (and uploading their reference images, which
    serve nothing else), manage for every other change."""
    from django.urls import reverse

    if request.method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    if request.path in (reverse("api:generate"), reverse("api:references")):
        return "generate"
    return "manage"


def token_user(request, *, scope: str | None = None):
    """The active user behind the request's bearer token, None without one; AuthenticationFailed for an
    unknown, revoked, expired or malformed token (never echoed back) or a missing or bad signature;
    PermissionDenied when the token's scopes do not cover the request (`scope`, else what it does)."""
    raw = bearer_token(request)
    if raw is None:
        return None
    token = token_lookup(raw=raw) if raw and len(raw) <= MAX_TOKEN_LENGTH else None
    if token is None:
        if raw and len(raw) <= MAX_TOKEN_LENGTH and token_expired(raw=raw):
            raise exceptions.AuthenticationFailed(_("The API token has expired."))
        raise exceptions.AuthenticationFailed(_("The API token is not valid: unknown, revoked or malformed."))
    # For the audit log: who, and by which token (its prefix only).
    request.audit_user, request.audit_token_prefix = token.user, raw[:PREFIX_LENGTH]
    request.api_token = token
    if token.signing and (token.signature_required or signing.is_signed(request)) \
            and not getattr(request, "signature_checked", False):
        try:
            signing.verify(request, token.digest)
        except signing.SignatureRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message) from None
        request.signature_checked = True
    needed = scope or required_scope(request)
    if needed not in token.scope_list:
        raise exceptions.PermissionDenied(
            _("This API token may not %(what)s (its scopes: %(scopes)s).")
            % {"what": scope_action(needed), "scopes": ", ".join(token.scope_list)})
    return token.user


def scope_action(scope: str) -> str:
    return {"read": _("read"), "generate": _("generate images"), "manage": _("change or delete")}[scope]


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


def caller(request):
    """Who makes a plain (non-DRF) request: None in open mode; in accounts mode the user of its bearer
    token, else of its session. NotSignedIn when there is neither (or the token is bad)."""
    if not accounts_mode():
        return None
    try:
        user = token_user(request)
    except exceptions.AuthenticationFailed as exc:
        raise NotSignedIn(exc.detail, code="authentication_failed") from None
    except exceptions.PermissionDenied as exc:
        raise NotSignedIn(exc.detail, code="permission_denied", status=403) from None
    if user is None and request.user.is_authenticated:
        user = request.user
    if user is None:
        raise NotSignedIn(not_signed_in_message())
    return user


def api_user(view):
    """For the plain (non-DRF) views under /api/: resolves the caller like the DRF views do and passes it
    as `user` (None in open mode). A caller who is not signed in, and any ApplicationError the view raises,
    get the envelope (plain_api_view)."""

    @wraps(view)
    @plain_api_view
    def wrapper(request, *args, **kwargs):
        return view(request, *args, user=caller(request), **kwargs)

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
