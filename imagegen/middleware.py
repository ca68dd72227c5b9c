"""Refuse oversized API bodies before anything reads them (413 in the API's error envelope)."""

from django.conf import settings
from django.utils.translation import gettext as _

from core.api.envelope import exception_response
from core.errors import PayloadTooLarge


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
                return exception_response(PayloadTooLarge(
                    _("The request body is too large (at most %(limit)d bytes).")
                    % {"limit": settings.IMAGEGEN_MAX_BODY_BYTES}))
        return self.get_response(request)
