"""A model's reference-image limits (GET /api/v1/models, `reference_images`), and every refusal in the error
envelope before a task is made: too many, wrong format or aspect ratio, not a picture, too large, a model
without references, someone else's image (404, as a missing one)."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage

from generation.models import GenerationTask, Reference

from .accounts import accounts, make_user, signed_in  # noqa: F401 (a fixture)
from .conftest import run
from .test_reference_images_reach_ark import KEY, ark, smallest, upload  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

S40 = "doubao-seedream-4-0-250828"
S45 = "doubao-seedream-4-5-251128"
S30 = "doubao-seedream-3-0-t2i-250415"


def picture(width=64, height=48, fmt="PNG") -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (10, 120, 30)).save(out, fmt)
    return out.getvalue()


def spec(model_id):
    from generation.catalogue import get_model
    return smallest(get_model(model_id))


def refused(api, model_id, refs, language_check=None):
    response = api.post("generate", {**spec(model_id), "prompt": "p", "reference_images": refs})
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    return response.status_code, body


def test_the_catalogue_states_each_models_reference_limits(api, ark):
    models = {m["id"]: m["reference_images"] for m in api.get("models").json()["models"]}
    assert models[S45]["supported"] and models[S45]["max"] == 14 and "webp" in models[S45]["formats"]
    assert models[S40]["max"] == 10 and models[S40]["formats"] == ["png", "jpeg"]
    assert not models[S30]["supported"] and models[S30]["unavailable_reason"]


def test_the_cv_jimeng_40_says_why_it_takes_no_references_here():
    from generation.catalogue import get_model
    limits = get_model("jimeng_t2i_v40").reference_limits()
    assert not limits["supported"] and "presigned" in limits["unavailable_reason"]


def test_each_broken_limit_is_a_400_naming_reference_images(api, media, ark):
    png = upload(api, picture()).json()["reference_id"]
    webp = upload(api, picture(fmt="WEBP"), "image/webp").json()["reference_id"]
    wide = upload(api, picture(400, 100)).json()["reference_id"]
    for model_id, refs in ((S30, [png]), (S40, [png] * 11), (S40, [webp]), (S40, [wide])):
        status, body = refused(api, model_id, refs)
        assert status == 400 and body["error"] == "validation_error" and "reference_images" in body["details"], body
    assert not GenerationTask.objects.exists()
    # 4.5 takes both the WebP and the 4:1 picture.
    assert api.post("generate", {**spec(S45), "prompt": "p", "reference_images": [webp, wide]}).status_code == 201


def test_an_upload_that_is_not_a_usable_picture_is_refused(api, media, settings):
    assert upload(api, b"not a picture").json()["error"] == "reference_unreadable"
    assert upload(api, picture(10, 10)).json()["error"] == "reference_wrong_size"
    settings.IMAGEGEN_MAX_BODY_BYTES = 1000  # the upload keeps its own, larger limit
    assert upload(api, picture(600, 600)).status_code == 201
    assert api.client.post("/api/v1/references", data=b"x" * (11 * 1024 * 1024),
                           content_type="image/png").status_code == 413
    assert Reference.objects.count() == 1


def test_the_refusal_is_in_chinese_for_a_chinese_client(api_zh, media, ark):
    png = upload(api_zh, picture()).json()["reference_id"]
    _status, body = refused(api_zh, S30, [png])
    assert "参考图" in body["message"], body


def test_someone_elses_reference_or_image_is_not_found(accounts, media, ark):  # noqa: F811
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    ref_id = upload(alice, picture()).json()["reference_id"]
    status, body = refused(bob, S40, [ref_id])
    assert status == 404 and body["error"] == "not_found" and body["details"] == {"reference_images": [ref_id]}
    assert bob.client.get(f"/api/v1/references/{ref_id}").status_code == 404
    assert alice.client.get(f"/api/v1/references/{ref_id}").content == picture()
    status, _body = refused(bob, S40, ["img_" + "0" * 32])
    assert status == 404


def test_each_task_of_a_batch_is_checked_against_its_model_s_limits(api, media, ark):
    # A batch takes references and groups (test_batches_take_reference_images_and_groups.py); each of its
    # tasks is held to its own model's limits, the refusal naming the task.
    pngs = [upload(api, picture()).json()["reference_id"] for _ in range(11)]
    response = api.post("batches", {**spec(S40), "prompt": "p", "variations": 2, "reference_images": pngs})
    assert response.status_code == 400 and any("reference_images" in k for k in response.json()["details"]), \
        response.json()


def test_a_token_that_may_only_generate_may_upload_references(accounts, media, ark):  # noqa: F811
    from accounts.services import token_create

    from .accounts import with_token

    _token, raw = token_create(user=make_user("erin"), name="ci", scopes=["generate"])
    api = with_token(raw)
    ref_id = upload(api, picture())
    assert ref_id.status_code == 201, ref_id.json()
    response = api.post("generate", {**spec(S40), "prompt": "p", "reference_images": [ref_id.json()["reference_id"]]})
    assert response.status_code == 201, response.json()


def test_a_multipart_form_s_file_field_uploads_too(api, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.client.post("/api/v1/references", {"file": SimpleUploadedFile("a.png", picture(), "image/png")})
    assert response.status_code == 201 and response.json()["width"] == 64, response.content
    assert api.client.post("/api/v1/references", {"other": "x"}).json()["details"] == {"file": ["No picture was sent."]}


def test_a_gallery_image_whose_file_was_lost_is_not_found(api, media, ark):
    from generation.models import Image

    task_id = api.generate(**spec(S40), prompt="p")
    run(task_id)
    image = Image.objects.get(task__task_id=task_id)
    (media / image.file_path).unlink()
    status, body = refused(api, S40, [image.image_id])
    assert status == 404 and body["details"] == {"reference_images": [image.image_id]}
    assert GenerationTask.objects.count() == 1
