"""The DRF views' side of the one error path (every error under /api/ is {"error": code, "message": text,
"details": ...}): DRF exceptions, Django's Http404/PermissionDenied/oversized bodies and our ApplicationError
end here. Plain views, middleware and Django's 404/500 pages for /api/ use core/api/envelope.py, which this
builds on; the stream sends the same envelope (streaming/messages.py).
"""

from __future__ import annotations

import errno

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import ApplicationError

from .envelope import envelope

# DRF's codes, renamed where the seed design's contract names them.
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


# A full disk (or quota) while a request writes files: the request made nothing (its transaction rolls back and
# its files are removed), and the user can tell that from a server fault.
_STORAGE_FULL = {errno.ENOSPC, errno.EDQUOT}


def api_exception_handler(exc, context):
    if isinstance(exc, OSError) and exc.errno in _STORAGE_FULL:
        set_rollback()
        return Response(envelope("storage_full", _("The server's storage is full, so nothing was saved. Try again "
                                                   "once its operator has made room.")),
                        status=status.HTTP_507_INSUFFICIENT_STORAGE, headers={"Retry-After": "60"})
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
