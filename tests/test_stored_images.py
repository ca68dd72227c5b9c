"""What a run stores for the images an engine returns (TaskRun._store, storage.store_results): one file and
one thumbnail per image under the task's prefix, named by the attempt's token, each with its own seed, its
size, format and sha256, and the A1111 parameters of exactly that image."""

import hashlib
import io

import pytest
from django.utils import timezone
from PIL import Image as PILImage

from generation import imaging, storage
from generation.engines.base import EngineResult
from generation.model_specs import SEED_MAX
from generation.models import GenerationTask

from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def returning(*images: bytes, seen: dict | None = None):
    """An engine outcome that returns these images, noting the lease holder of the attempt."""

    def outcome(request, progress):
        if seen is not None:
            seen["holder"] = GenerationTask.objects.get(model=request.model, prompt=request.prompt).lease_holder
        return EngineResult(images=list(images))

    return outcome


def test_it_stores_each_image_with_its_own_seed_wrapping_past_the_largest(api, media, scripted):
    scripted(returning(png(64, 48, (255, 0, 0)), png(64, 48, (0, 255, 0)), png(64, 48, (0, 0, 255))))
    task_id = api.generate(seed=SEED_MAX - 1, num_images=3)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "completed"
    rows = list(task.images.order_by("index"))
    assert [(r.index, r.seed) for r in rows] == [(0, SEED_MAX - 1), (1, SEED_MAX), (2, 0)]
    written = [imaging.read_png_parameters((media / r.file_path).read_bytes()) for r in rows]
    assert [next(p for p in text.split(", ") if p.startswith("Seed: ")) for text in written] == [
        f"Seed: {SEED_MAX - 1}", f"Seed: {SEED_MAX}", "Seed: 0"]


def test_a_task_without_a_seed_stores_none_and_writes_seed_minus_one(api, media, scripted):
    scripted(returning(png(32, 32, (1, 2, 3)), png(32, 32, (4, 5, 6))))
    task_id = api.generate(num_images=2)
    GenerationTask.objects.filter(task_id=task_id).update(seed=None)
    run(task_id)
    rows = list(GenerationTask.objects.get(task_id=task_id).images.order_by("index"))
    assert [r.seed for r in rows] == [None, None]
    for r in rows:
        assert "Seed: -1," in imaging.read_png_parameters((media / r.file_path).read_bytes())


def test_each_file_carries_the_parameters_of_its_task(api, media, scripted):
    scripted(returning(png(40, 30, (9, 9, 9))))
    task_id = api.generate(prompt="a red fox", negative_prompt="blurry", steps=25, scale=6.5, seed=1234,
                           width=768, height=512)
    # general_v2.0 ignores a negative prompt; a model that takes one has none in ignored_params
    GenerationTask.objects.filter(task_id=task_id).update(ignored_params=[])
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    (row,) = task.images.all()
    text = imaging.read_png_parameters((media / row.file_path).read_bytes())
    assert text == imaging.a1111_parameters(
        prompt="a red fox", negative_prompt="blurry", steps=25, scale=6.5, seed=1234, width=768, height=512,
        model=task.model, extra={"Engine": task.engine, "Task": task_id})
    assert text.splitlines()[0] == "a red fox"
    assert "Negative prompt: blurry" in text
    assert f"Engine: {task.engine}, Task: {task_id}" in text


def test_files_are_named_by_the_attempt_s_token_and_index_under_the_task_s_prefix(api, media, scripted):
    seen = {}
    scripted(returning(png(64, 64, (10, 20, 30)), png(64, 64, (30, 20, 10)), seen=seen))
    task_id = api.generate(num_images=2)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    token = seen["holder"].rsplit(":", 1)[1]
    assert len(token) == 8 and ":" not in token
    prefix = task.file_prefix()
    rows = list(task.images.order_by("index"))
    assert [(r.file_path, r.thumbnail_path) for r in rows] == [
        (f"{prefix}/{token}-0.png", f"{prefix}/{token}-0.thumb.webp"),
        (f"{prefix}/{token}-1.png", f"{prefix}/{token}-1.thumb.webp"),
    ]
    assert files_under(media) == sorted(p for r in rows for p in (r.file_path, r.thumbnail_path))


def test_each_image_records_its_size_format_dimensions_and_sha256(api, media, scripted, settings):
    settings.IMAGEGEN_THUMBNAIL_SIZE = 50
    scripted(returning(png(200, 100, (200, 10, 10)), png(90, 120, (10, 200, 10))))
    task_id = api.generate(num_images=2)
    run(task_id)
    rows = list(GenerationTask.objects.get(task_id=task_id).images.order_by("index"))
    for row, (width, height) in zip(rows, [(200, 100), (90, 120)]):
        data = (media / row.file_path).read_bytes()
        thumb = (media / row.thumbnail_path).read_bytes()
        assert (row.width, row.height, row.format) == (width, height, "png")
        assert row.file_size == len(data) and row.thumbnail_size == len(thumb)
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        with PILImage.open(io.BytesIO(thumb)) as im:
            assert im.format == "WEBP" and max(im.size) == 50
    assert rows[0].sha256 != rows[1].sha256


def test_an_answer_without_images_fails_the_task_as_bad_upstream_data(api, media, scripted):
    engine = scripted(returning())
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_code, task.error_message) == (
        "failed", "bad_upstream_data", "the image service returned no images")
    assert len(engine.calls) == 1
    assert files_under(media) == []


def test_the_lease_is_extended_for_a_minute_while_the_images_are_stored(api, media, scripted, settings,
                                                                        monkeypatch):
    settings.IMAGEGEN_LEASE_MARGIN = 30
    seen = {}
    real = storage.store_results

    def noting(**kwargs):
        row = GenerationTask.objects.get(task_id=task_id)
        seen["left"] = (row.lease_expires_at - timezone.now()).total_seconds()
        return real(**kwargs)

    monkeypatch.setattr(storage, "store_results", noting)
    scripted(returning(png(16, 16, (0, 0, 0))))
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).status == "completed"
    assert seen["left"] == pytest.approx(60 + 30, abs=0.5)
