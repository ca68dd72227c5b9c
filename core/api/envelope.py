"""The error envelope, {"error": code, "message": text, "details": ...}, for plain views and middleware under
/api/ (image files, the fast task read, the event stream, the size and network checks, Django's 404/500
pages): they raise an ApplicationError and `plain_api_view` answers it, as the DRF views' exception handler
(core/api/errors.py) does.

This module does not import rest_framework.views: that would load the authentication classes named in
settings (accounts/auth.py), which use it."""

from __future__ import annotations

import inspect
from functools import wraps

from django.http import JsonResponse
from django.utils.translation import gettext as _

from core.errors import ApplicationError, MethodNotAllowed


def envelope(code: str, message, details=None, **extra) -> dict:
    body = {"error": code, "message": str(message), "details": details}
    body.update(extra)
    return body


def error_response(code: str, message, status_code: int, details=None, headers=None, **extra) -> JsonResponse:
    """The envelope as a plain JsonResponse (what `exception_response` and Django's 404/500 handlers send)."""
    response = JsonResponse(envelope(code, message, details, **extra), status=status_code,
                            json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def exception_response(exc: ApplicationError) -> JsonResponse:
    """An ApplicationError as plain views and middleware answer it: the same envelope, status and headers as
    the DRF views' (api_exception_handler)."""
    return error_response(exc.code, exc.message, exc.status, details=exc.details, headers=exc.headers, **exc.extra)


def plain_api_view(view):
    """For plain (non-DRF) views under /api/, sync or async: an ApplicationError they raise is answered in the
    envelope, as a DRF view's would be."""
    if inspect.iscoroutinefunction(view):
        @wraps(view)
        async def async_wrapper(request, *args, **kwargs):
            try:
                return await view(request, *args, **kwargs)
            except ApplicationError as exc:
                return exception_response(exc)

        return async_wrapper

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as exc:
            return exception_response(exc)

    return wrapper


def allow_methods(*methods: str):
    """For plain views under /api/: only these methods, anything else a 405 in the envelope."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return exception_response(method_not_allowed(request, methods))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def method_not_allowed(request, methods) -> MethodNotAllowed:
    return MethodNotAllowed(_('Method "%(method)s" not allowed.') % {"method": request.method}, allowed=tuple(methods))


read_only = allow_methods("GET", "HEAD")
