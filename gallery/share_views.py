"""The public side of share links: /s/<token> (a small page with the images and a download) and its image
files. No sign-in; the token is the only key. The network allowlist still applies (it is middleware).

Nothing here may be kept by a shared cache: a revoked link stops working at once. Search engines are told
not to index, and the page sends no Referer, so the token does not leak to other sites."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from generation.imaging import strip_png_text
from core.errors import NotFound

from . import selectors
from .views import download_name


def _private(response):
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _name(link, image, *, thumbnail: bool = False) -> str:
    if link.show_prompt:
        return download_name(image, thumbnail=thumbnail)
    # A hidden prompt is hidden in the file name too.
    return f"imagegen-{image.image_id}{'-thumb' if thumbnail else ''}.{'webp' if thumbnail else image.extension}"


@login_not_required
@require_safe
def share_page(request, token: str):
    try:
        link, images = selectors.share_open(token=token, count=True)
    except NotFound:
        return _private(render(request, "pages/share_gone.html", status=404))
    shown = [{"image": image, "prompt": image.task.prompt if link.show_prompt else "",
              "url": f"/s/{token}/{image.image_id}", "thumbnail_url": f"/s/{token}/{image.image_id}/thumbnail",
              "download_url": f"/s/{token}/{image.image_id}?download=1"} for image in images]
    prompt = images[0].task.prompt if link.show_prompt and images and len({i.task_id for i in images}) == 1 else ""
    return _private(render(request, "pages/share.html", {"link": link, "images": shown, "prompt": prompt,
                                                          "page": "share"}))


@login_not_required
@require_safe
def share_file(request, token: str, image_id: str, thumbnail: bool = False):
    try:
        link, images = selectors.share_open(token=token)
    except NotFound:
        raise Http404 from None
    image = next((i for i in images if i.image_id == image_id), None)
    if image is None:  # only what the link names
        raise Http404
    path = image.thumbnail_path if thumbnail else image.file_path
    with default_storage.open(path, "rb") as handle:
        data = handle.read()
    if not link.show_prompt and not thumbnail:
        data = strip_png_text(data)  # the PNG's parameters carry the prompt
    response = HttpResponse(data, content_type="image/webp" if thumbnail else image.mime_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = content_disposition_header(
        request.GET.get("download") in ("1", "true"), _name(link, image, thumbnail=thumbnail))
    return _private(response)
