"""OpenAPI pieces shared by the views: the error envelope every endpoint may answer with, paginated lists
and the signed-request headers. The id path parameters are with their apps (generation/openapi.py,
gallery/openapi.py)."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
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
    429: OpenApiResponse(ErrorEnvelope, description="rate_limit_exceeded, quota_exceeded, spending_cap_reached (with Retry-After)"),
    500: OpenApiResponse(ErrorEnvelope, description="internal_error"),
}

# Requests that change something: a browser must send its CSRF token, and a body must be JSON.
WRITE_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    403: OpenApiResponse(ErrorEnvelope, description="permission_denied (a browser request without its CSRF token)"),
    415: OpenApiResponse(ErrorEnvelope, description="unsupported_media_type (the body must be application/json)"),
}


def paginated(name: str, item):
    """The page object core.api.pagination returns around a list of `item`."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "count_capped": serializers.BooleanField(
                required=False, help_text="Present (true) when `count` stopped at its cap: a prompt search counts "
                "up to 1,000 matches, so the count reads \"1,000+\" and the pages end there."),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": item(many=True),
        },
    )


class BrowserCsrfCheckScheme(OpenApiAuthenticationExtension):
    """BrowserCsrfCheck authenticates nobody (it only refuses forged browser requests): no security
    scheme and no requirement in the schema."""

    target_class = "core.api.csrf.BrowserCsrfCheck"
    name: list = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []


SIGNATURE_HEADERS = [
    ("X-Imagegen-Timestamp", "Signed requests: Unix seconds (within 5 minutes of the server's clock)."),
    ("X-Imagegen-Nonce", "Signed requests: 8-64 characters of A-Z a-z 0-9 - _, never used twice."),
    ("X-Imagegen-Signature", "Signed requests: hex HMAC-SHA256 of the canonical request (README, \"Signed requests\")."),
]


def add_signature_headers(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation may carry the signed-request headers (a signing
    token's requests; required for a token marked "signature required"). Documented so that clients and
    the fuzzer see them."""
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    for path, item in result.get("paths", {}).items():
        if path.rstrip("/").endswith("/health"):
            continue
        for method, operation in item.items():
            if method not in methods:
                continue
            parameters = operation.setdefault("parameters", [])
            present = {(p.get("in"), p.get("name", "").lower()) for p in parameters}
            for name, description in SIGNATURE_HEADERS:
                if ("header", name.lower()) not in present:
                    parameters.append({"in": "header", "name": name, "required": False,
                                       "schema": {"type": "string"}, "description": description})
    return result


def merge_blank_alternatives(result, generator, request, public):
    """drf-spectacular postprocessing hook: a blank-allowed text filter comes out as `oneOf: [{pattern},
    {maxLength: 0}]`, which "" matches twice, so a schema-valid client could not send `?q=` (which means
    "no filter"). Where the pattern already admits "", the first alternative alone says it."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                options = schema.get("oneOf") or []
                if (len(options) == 2 and options[1] == {"type": "string", "maxLength": 0}
                        and re.fullmatch(options[0].get("pattern", "(?!)"), "")):
                    parameter["schema"] = options[0]
    return result
