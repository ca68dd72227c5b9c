"""OpenAPI pieces of the image endpoints: the image id path parameter, and the image-file endpoints (plain
Django views the generator cannot see)."""

from drf_spectacular.utils import OpenApiParameter

from generation.models import IMAGE_ID_PATTERN


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
        "summary": "Delete an image (its task stays in the history)",
        "description": "Moved to the trash: gone from every list, board, zip and share link, restorable with POST "
                       "/api/v1/trash/{image_id}/restore; with `purge=1` deleted with its tags and files for good.",
        "tags": ["images"],
        "parameters": [*original["parameters"][:1],
                       {"in": "query", "name": "purge", "required": False,
                        "schema": {"type": "string", "enum": ["1", "true", "0", "false"]},
                        "description": "1 or true: delete it and its files for good at once, instead of moving it "
                                       "to the trash."}],
        "responses": {
            "204": {"description": "Deleted (in the trash, or for good with purge)."},
            "400": _error("validation_error (purge is not 1, true, 0 or false)"),
            "403": _error("permission_denied (a browser request without its CSRF token)"),
            "404": _error("not_found"),
            "500": _error("internal_error"),
        },
    }
    paths["/api/v1/images/{image_id}"] = {"get": original, "delete": delete}
    paths["/api/v1/images/{image_id}/thumbnail"] = {
        "get": _image_operation("image_thumbnail", "The WebP thumbnail", ["image/webp"], download=True),
    }
    paths["/api/v1/trash/{image_id}/thumbnail"] = {
        "get": {**_image_operation("trash_thumbnail", "The WebP thumbnail of an image in the trash", ["image/webp"],
                                   download=True), "tags": ["trash"]},
    }
    return result
