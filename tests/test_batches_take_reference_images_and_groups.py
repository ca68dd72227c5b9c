"""A batch takes reference images and group generation (issue 22): every task of it gets its own copy of each
reference and, with `group`, makes its own group request; a batch refused for one of its tasks, or one that
fails while copying, leaves no task and no file behind. The real Ark SDK over HTTP against tests/ark_server.py."""

from __future__ import annotations

import base64
import hashlib

import pytest

from generation import storage
from generation.models import GenerationTask, Reference

from .conftest import files_under, run
from .test_reference_images_are_checked_against_each_models_limits import S30, S40, picture, spec
from .test_reference_images_reach_ark import ark, upload  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def batch(api, **body):
    return api.post("batches", {k: v for k, v in body.items() if v is not None})


def test_each_variation_gets_its_own_copy_of_the_references_and_sends_them(api, media, ark):
    data = picture()
    ref = upload(api, data).json()["reference_id"]
    made = batch(api, **spec(S40), prompt="the same fox, three ways", variations=3, reference_images=[ref])
    assert made.status_code == 201, made.json()
    task_ids = [t["task_id"] for t in made.json()["tasks"]]
    copies = Reference.objects.filter(task__task_id__in=task_ids)
    assert copies.count() == 3 and len({c.file_path for c in copies}) == 3  # one file per task
    assert {c.sha256 for c in copies} == {hashlib.sha256(data).hexdigest()}
    for task_id in task_ids:
        run(task_id)
        assert api.get(f"task/{task_id}").json()["status"] == "completed"
    sent = [call.body["image"] for call in ark.calls()]
    assert len(sent) == 3 and all(base64.b64decode(image.split(",", 1)[1]) == data for image in sent)
    assert GenerationTask.objects.filter(task_id__in=task_ids).values("seed").distinct().count() == 3


def test_each_task_of_a_group_batch_makes_its_own_group_request(api, media, ark):
    made = batch(api, **spec(S40), prompts=["four seasons of a garden", "four seasons of a harbour"], num_images=2,
                 group=True)
    assert made.status_code == 201, made.json()
    for task in made.json()["tasks"]:
        assert GenerationTask.objects.get(task_id=task["task_id"]).group is True
        run(task["task_id"])
    calls = ark.calls()
    assert len(calls) == 2 and all(c.body["sequential_image_generation"] == "auto" for c in calls)


def test_a_model_sweep_with_a_model_that_takes_no_references_is_refused_whole_naming_it(api, media):
    ref = upload(api, picture()).json()["reference_id"]
    before = files_under(media)
    refused = batch(api, **spec(S40), prompt="p", reference_images=[ref], sweep={"param": "model", "values": [S40, S30]})
    assert refused.status_code == 400
    assert any("reference_images" in field and S30 in field for field in refused.json()["details"]), refused.json()
    assert GenerationTask.objects.count() == 0 and files_under(media) == before


def test_a_batch_that_fails_while_copying_leaves_no_task_and_no_copy(api, media, monkeypatch):
    ref = upload(api, picture()).json()["reference_id"]
    before = files_under(media)
    real, saved = storage.save_reference, []

    def fail_on_the_third(path, data):
        if len(saved) == 2:
            raise OSError(28, "No space left on device")
        saved.append(path)
        return real(path, data)

    monkeypatch.setattr(storage, "save_reference", fail_on_the_third)
    response = batch(api, **spec(S40), prompt="p", variations=3, reference_images=[ref])
    assert response.status_code == 507 and response.json()["error"] == "storage_full"
    assert "nothing was saved" in response.json()["message"]
    assert len(saved) == 2  # two copies were written before the third failed ...
    assert files_under(media) == before  # ... and are gone again
    assert GenerationTask.objects.count() == 0 and Reference.objects.filter(task__isnull=False).count() == 0
