"""Image files: GET /api/v1/images/{image_id} and /thumbnail, and the thumbnails of the trash
(GET /api/v1/trash/{image_id}/thumbnail).

Served with the right Content-Type, a strong ETag (the content hash), long-lived caching, nosniff and,
with ?download=1, an attachment with a readable file name. Behind nginx the bytes can be handed to
nginx (X-Accel-Redirect) after the checks here.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import Throttled

from accounts.auth import api_user
from core.access import accounts_mode
from core.api.clients import client_id
from core.api.csrf import csrf_failure_reason
from core.api.envelope import allow_methods, read_only
from core.api.throttling import spend
from core.errors import Forbidden, NotFound, RateLimited
from generation import selectors
from generation.trash_apis import wants_purge

from .services import images_delete

CACHE_CONTROL = "public, max-age=31536000, immutable"
# Accounts mode: an image is its owner's. No shared cache (CDN, proxy) may keep it, and a browser's copy
# is keyed by the credentials that fetched it.
PRIVATE_CACHE_CONTROL = "private, max-age=31536000, immutable"


def _cache_headers(response):
    if accounts_mode():
        response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        patch_vary_headers(response, ("Cookie", "Authorization"))
    else:
        response["Cache-Control"] = CACHE_CONTROL
    return response


def download_name(image, *, thumbnail: bool = False) -> str:
    """imagegen-<first words of the prompt>-<image id>.<ext>, safe for any file system."""
    words = unicodedata.normalize("NFKC", image.task.prompt)
    words = re.sub(r"[^\w]+", "-", words, flags=re.UNICODE).strip("-_")[:40].strip("-_") or "image"
    extension = "webp" if thumbnail else image.extension
    suffix = "-thumb" if thumbnail else ""
    return f"imagegen-{words}-{image.image_id}{suffix}.{extension}"


def _serve(request, image_id: str, *, thumbnail: bool, user, in_trash: bool = False):
    image = selectors.image_get(image_id=image_id, user=user, in_trash=in_trash)
    etag = f'"{image.sha256}{"-t" if thumbnail else ""}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return _cache_headers(response)
    path = image.thumbnail_path if thumbnail else image.file_path
    content_type = "image/webp" if thumbnail else image.mime_type
    size = image.thumbnail_size if thumbnail else image.file_size
    as_attachment = request.GET.get("download") in ("1", "true", "yes")
    if settings.IMAGEGEN_STORAGE == "s3" and settings.IMAGEGEN_S3_PRESIGNED:
        # The bytes come straight from object storage, through a URL that expires in minutes.
        disposition = content_disposition_header(as_attachment, download_name(image, thumbnail=thumbnail))
        url = default_storage.url(path, parameters={"ResponseContentDisposition": disposition,
                                                    "ResponseContentType": content_type})
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, max-age=60"
        return response
    if settings.IMAGEGEN_X_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.IMAGEGEN_X_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + path
    else:
        try:
            handle = default_storage.open(path, "rb")
        except (FileNotFoundError, OSError):
            raise NotFound(_("The image file is missing from storage."), code="file_missing") from None
        # Streams from storage in blocks; never reads the whole file into memory.
        response = FileResponse(handle, content_type=content_type)
        if size:
            response["Content-Length"] = str(size)
    response["ETag"] = etag
    _cache_headers(response)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment, download_name(image, thumbnail=thumbnail)
    )
    return response


@csrf_exempt  # checked below like the DRF views: browsers must send the token, API clients need not
@allow_methods("GET", "HEAD", "DELETE")
@api_user
def image_file(request, image_id: str, user):
    """GET/HEAD: the original. DELETE: move the image to the trash, or with ?purge=1 delete it, its tags and files
    for good (its task stays either way)."""
    if request.method == "DELETE":
        if csrf_failure_reason(request) is not None:
            raise Forbidden(_("CSRF check failed: reload the page and try again."))
        if user is not None:
            request.user = user  # a token's user: the edit budget counts per user
        wait = spend("edit", client_id(request))
        if wait is not None:
            raise RateLimited(str(Throttled(wait).detail), retry_after=wait)

        purge = wants_purge(request.GET)
        image = selectors.image_get(image_id=image_id, user=user)
        images_delete(images=[image], purge=purge)
        return HttpResponse(status=204)
    return _image_original(request, image_id, user=user)


@read_only
def _image_original(request, image_id: str, user):
    return _serve(request, image_id, thumbnail=False, user=user)


@csrf_exempt  # changes nothing: every method but GET and HEAD is a 405 in the envelope, not a CSRF page
@read_only
@api_user
def image_thumbnail(request, image_id: str, user):
    return _serve(request, image_id, thumbnail=True, user=user)


@csrf_exempt  # changes nothing: every method but GET and HEAD is a 405 in the envelope, not a CSRF page
@read_only
@api_user
def trash_thumbnail(request, image_id: str, user):
    """The thumbnail of an image in the trash (alone or with its task), for the trash page: its owner's only.
    Its original and its usual URLs are "not found" while it is there."""
    return _serve(request, image_id, thumbnail=True, user=user, in_trash=True)
