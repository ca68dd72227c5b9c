"""Refuse oversized API bodies before anything reads them (413 in the API's error envelope)."""

from django.conf import settings
from django.utils.translation import gettext as _

from core.api.errors import error_response


class ApiRequestSizeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.IMAGEGEN_MAX_BODY_BYTES:
                return error_response(
                    "payload_too_large",
                    _("The request body is too large (at most %(limit)d bytes).")
                    % {"limit": settings.IMAGEGEN_MAX_BODY_BYTES},
                    413,
                )
        return self.get_response(request)
