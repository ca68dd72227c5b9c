"""OpenAPI pieces shared by the views: the error envelope every endpoint may answer with."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorEnvelope = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(help_text="Stable machine-readable code, e.g. validation_error, not_found."),
        "message": serializers.CharField(help_text="Human-readable, in the request's language."),
        "details": serializers.JSONField(allow_null=True, help_text="Per-field messages for validation errors."),
        "retry_after": serializers.IntegerField(required=False, help_text="Seconds to wait (429 only)."),
    },
)

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorEnvelope, description="Invalid input (validation_error, invalid_json)"),
    401: OpenApiResponse(ErrorEnvelope, description="not_authenticated, authentication_failed (accounts mode; "
                         "with WWW-Authenticate: Bearer)"),
    403: OpenApiResponse(ErrorEnvelope, description="permission_denied (a browser request without its CSRF token)"),
    404: OpenApiResponse(ErrorEnvelope, description="not_found"),
    405: OpenApiResponse(ErrorEnvelope, description="method_not_allowed"),
    409: OpenApiResponse(ErrorEnvelope, description="conflict, idempotency_conflict"),
    413: OpenApiResponse(ErrorEnvelope, description="payload_too_large"),
    429: OpenApiResponse(ErrorEnvelope, description="rate_limit_exceeded, quota_exceeded (with Retry-After)"),
    500: OpenApiResponse(ErrorEnvelope, description="internal_error"),
}
