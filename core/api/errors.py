"""One error path for the API: every error under /api/ is {"error": code, "message": text, "details": ...}.

DRF exceptions, Django's Http404/PermissionDenied/oversized bodies and our ApplicationError all end here;
Django's own 404/500 pages for /api/ paths use `error_response` too (see imagegen/views.py).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import ApplicationError

# DRF's codes, renamed where the seed's contract names them.
CODE_NAMES = {
    "invalid": "validation_error",
    "throttled": "rate_limit_exceeded",
    "parse_error": "invalid_json",
    "not_authenticated": "not_authenticated",
    "authentication_failed": "authentication_failed",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
}


def envelope(code: str, message, details=None, **extra) -> dict:
    body = {"error": code, "message": str(message), "details": details}
    body.update(extra)
    return body


def error_response(code: str, message, status_code: int, details=None, headers=None, **extra) -> JsonResponse:
    """For plain Django views (image files, 404/500 handlers): the same envelope as the DRF views."""
    response = JsonResponse(envelope(code, message, details, **extra), status=status_code,
                            json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(
            envelope(exc.code, exc.message, exc.details, **exc.extra), status=exc.status, headers=exc.headers
        )
    if isinstance(exc, RequestDataTooBig):
        set_rollback()
        return Response(
            envelope("payload_too_large", _("The request body is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handler renders the envelope
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        response.data = envelope("validation_error", _first_message(data) or _("Invalid input."), data)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        detail = data.get("detail", "") if isinstance(data, dict) else data
        extra = {}
        if isinstance(exc, exceptions.Throttled):
            extra["retry_after"] = int(exc.wait or 1)
            response["Retry-After"] = str(int(exc.wait or 1))
        response.data = envelope(CODE_NAMES.get(code, code), detail, None, **extra)
    return response


def _first_message(data) -> str:
    """The first field message, so a client showing only `message` still tells the user what is wrong."""
    if isinstance(data, dict):
        for key, value in data.items():
            message = _first_message(value)
            if message:
                return message if key in ("non_field_errors",) else f"{key}: {message}"
    elif isinstance(data, list):
        for item in data:
            message = _first_message(item)
            if message:
                return message
    elif data:
        return str(data)
    return ""


def allow_methods(*methods: str):
    """For plain views under /api/: only these methods, anything else a 405 in the envelope."""
    from functools import wraps

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return error_response(
                    "method_not_allowed",
                    _('Method "%(method)s" not allowed.') % {"method": request.method},
                    405,
                    headers={"Allow": ", ".join(methods)},
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


read_only = allow_methods("GET", "HEAD")
