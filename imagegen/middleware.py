"""Refuse oversized API bodies before anything reads them (413 in the API's error envelope)."""

from django.conf import settings
from django.utils.translation import gettext as _

from core.api.envelope import exception_response
from core.errors import PayloadTooLarge
from generation.model_specs import REFERENCE_MAX_BYTES


class ApiRequestSizeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            # A reference-image upload carries a picture: its own limit (the service says "too large" itself
            # just above it, in the same words as for any other bad picture); every other body stays small.
            limit = settings.IMAGEGEN_MAX_BODY_BYTES
            if request.path == "/api/v1/references":
                limit = max(limit, REFERENCE_MAX_BYTES + 64 * 1024)  # room for a multipart form's framing
            if length > limit:
                return exception_response(PayloadTooLarge(
                    _("The request body is too large (at most %(limit)d bytes).") % {"limit": limit}))
        return self.get_response(request)
