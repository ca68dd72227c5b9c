"""OpenAPI pieces shared by the views: the error envelope every endpoint may answer with, paginated lists,
the id path parameters, and the image-file endpoints (plain Django views the generator cannot see)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from generation.models import IMAGE_ID_PATTERN, TASK_ID_PATTERN

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

# Requests that change something: a browser must send its CSRF token, and a body must be JSON.
WRITE_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    403: OpenApiResponse(ErrorEnvelope, description="permission_denied (a browser request without its CSRF token)"),
    415: OpenApiResponse(ErrorEnvelope, description="unsupported_media_type (the body must be application/json)"),
}


def paginated(name: str, item):
    """The page object imagegen.api.pagination returns around a list of `item`."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": item(many=True),
        },
    )


def task_id_parameter(name: str = "task_id") -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, pattern=TASK_ID_PATTERN,
                            description="A task id (a UUID); any other shape is a 404.")


def image_id_parameter() -> OpenApiParameter:
    return OpenApiParameter("image_id", str, OpenApiParameter.PATH, pattern=IMAGE_ID_PATTERN,
                            description="An image id (img_ and 32 hex digits); any other shape is a 404.")


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _image_operation(operation_id: str, summary: str, media_types: list[str], *, download: bool) -> dict:
    parameters = [{"in": "path", "name": "image_id", "required": True,
                   "schema": {"type": "string", "pattern": IMAGE_ID_PATTERN}}]
    if download:
        parameters.append({"in": "query", "name": "download", "required": False,
                           "schema": {"type": "string"},
                           "description": "1, true or yes: an attachment with a readable file name."})
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["images"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "The image bytes (cacheable; ETag is the content hash).",
                    "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in media_types}},
            "304": {"description": "Not modified (If-None-Match matched the ETag)."},
            "404": _error("not_found, file_missing"),
            "405": _error("method_not_allowed"),
            "429": _error("rate_limit_exceeded"),
            "500": _error("internal_error"),
        },
    }


def add_image_file_paths(result, generator, request, public):
    """drf-spectacular postprocessing hook: the image-file views are plain Django views (they stream
    bytes), so the generator does not see them; they are part of /api/v1 and documented here."""
    paths = result.setdefault("paths", {})
    original = _image_operation("image_get", "The original image", ["image/png", "image/jpeg", "image/webp"],
                                download=True)
    delete = {
        "operationId": "image_delete",
        "summary": "Delete an image, its tags and its files (its task stays in the history)",
        "tags": ["images"],
        "parameters": original["parameters"][:1],
        "responses": {
            "204": {"description": "Deleted."},
            "403": _error("permission_denied (a browser request without its CSRF token)"),
            "404": _error("not_found"),
            "500": _error("internal_error"),
        },
    }
    paths["/api/v1/images/{image_id}"] = {"get": original, "delete": delete}
    paths["/api/v1/images/{image_id}/thumbnail"] = {
        "get": _image_operation("image_thumbnail", "The WebP thumbnail", ["image/webp"], download=True),
    }
    return result


class BrowserCsrfCheckScheme(OpenApiAuthenticationExtension):
    """BrowserCsrfCheck authenticates nobody (it only refuses forged browser requests): no security
    scheme and no requirement in the schema."""

    target_class = "imagegen.api.csrf.BrowserCsrfCheck"
    name: list = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []
