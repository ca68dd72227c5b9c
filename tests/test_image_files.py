"""GET /api/v1/images/{image_id} and /thumbnail: real images, caching headers, downloads."""

import hashlib
import io

import pytest
from PIL import Image as PILImage

from generation.imaging import read_png_parameters

from .conftest import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def image(api, media):
    task_id = api.generate(prompt="一只可爱的猫咪 <script>", seed=7)
    run(task_id)
    return api.get(f"task/{task_id}").json()["images"][0]


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_original_is_a_png_of_the_requested_size(api, image):
    response = api.client.get(image["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    data = body_of(response)
    assert len(data) == image["file_size"] == int(response["Content-Length"])
    assert hashlib.sha256(data).hexdigest() == image["sha256"]
    with PILImage.open(io.BytesIO(data)) as im:
        assert im.size == (1024, 1024)


def test_the_png_carries_its_generation_parameters(api, image):
    text = read_png_parameters(body_of(api.client.get(image["url"])))
    assert text.startswith("一只可爱的猫咪 <script>")
    assert "Seed: 7" in text and "Size: 1024x1024" in text and "Model: high_aes_general_v20" in text


def test_the_thumbnail_is_a_small_webp(api, image):
    response = api.client.get(image["thumbnail_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    with PILImage.open(io.BytesIO(body_of(response))) as im:
        assert im.format == "WEBP"
        assert max(im.size) <= 384


def test_images_are_cacheable_and_never_sniffed(api, image):
    response = api.client.get(image["url"])
    assert response["ETag"] == f'"{image["sha256"]}"'
    assert "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")


def test_a_matching_etag_gets_304(api, image):
    etag = api.client.get(image["url"])["ETag"]
    response = api.client.get(image["url"], headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""


def test_download_gives_an_attachment_with_a_readable_safe_name(api, image):
    response = api.client.get(image["url"] + "?download=1")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert image["image_id"] in disposition
    assert "<" not in disposition and "\n" not in disposition
    assert "filename*=utf-8''" in disposition.lower()


def test_an_unknown_image_is_404_in_the_envelope(api):
    for path in ("images/img_nope", "images/img_nope/thumbnail"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_images_refuse_other_methods_in_the_envelope(api, image):
    response = api.client.post(image["url"])
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
