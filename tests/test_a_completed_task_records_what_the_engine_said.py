"""What completing a task writes (TaskRun._complete): the service's ids (cut to 100), the upstream task id
of the result else the task's own, the revised prompt, the partial failures as the message (cut to 2000),
the billed figures on the row and on the task the completed event carries, one image row per file at the
completion time; and the upstream-trouble note is cleared. A completion that finds the task gone keeps
nothing and says so."""

import logging

import pytest
from django.utils import timezone

from generation import upstream, webhooks
from generation.engines.base import EngineResult
from generation.models import GenerationTask

from .accounts import accounts  # noqa: F401  (fixture)
from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def result_of(engine, **fields):
    def outcome(request, progress):
        made = engine._preview.generate(request, progress)
        return EngineResult(images=made.images[:1], **fields)

    return outcome


def test_the_row_records_the_service_s_ids_revised_prompt_and_partial_failures(api, media, scripted, monkeypatch):
    events, cleared = [], []
    monkeypatch.setattr(webhooks, "task_event", lambda task, event: events.append(
        (event, task.images_billed, task.tokens_billed)))
    monkeypatch.setattr(upstream, "note_success", lambda: cleared.append(True))
    engine = scripted()
    engine.outcomes = [result_of(engine, upstream_request_id="R" * 120, upstream_task_id="U" * 120,
                                 revised_prompt="a lighthouse, golden hour", partial_failures=["x" * 2100],
                                 images_billed=2, tokens_billed=1234)]
    task_id = api.generate(num_images=2)
    GenerationTask.objects.filter(task_id=task_id).update(error_code="upstream_error")  # from an earlier attempt
    before = timezone.now()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.stage, task.progress, task.error_code) == ("completed", "done", 100, "")
    assert (task.upstream_request_id, task.upstream_task_id) == ("R" * 100, "U" * 100)
    assert task.revised_prompt == "a lighthouse, golden hour"
    assert task.error_message == ("1 of 2 images not made: " + "x" * 2100)[:2000]
    assert (task.images_billed, task.tokens_billed) == (2, 1234)
    assert before <= task.completed_at <= timezone.now()
    (image,) = task.images.all()
    assert (image.created_at, image.owner_id, image.index) == (task.completed_at, task.owner_id, 0)
    assert ("completed", 2, 1234) in events
    assert cleared == [True]


def test_without_an_upstream_task_id_in_the_result_the_task_s_own_is_kept(api, media, scripted):
    engine = scripted()
    engine.outcomes = [result_of(engine, upstream_request_id="req-1")]
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(upstream_task_id="up-from-submit")
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.upstream_request_id, task.upstream_task_id, task.error_message, task.revised_prompt) == (
        "req-1", "up-from-submit", "", "")


def test_a_completion_that_finds_the_task_gone_keeps_nothing_and_logs_it(api, media, scripted, caplog, monkeypatch):
    cleared = []
    monkeypatch.setattr(upstream, "note_success", lambda: cleared.append(True))
    caplog.set_level(logging.INFO, logger="generation.run")

    def taken_over(request, progress):
        made = engine._preview.generate(request, progress)
        GenerationTask.objects.filter(task_id=task_id).update(lease_holder="other:1:ffffffff")
        return made

    engine = scripted(taken_over)
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.get(task_id=task_id).images.count() == 0
    assert files_under(media) == [] and cleared == []
    assert f"task {task_id} finished elsewhere or was cancelled; discarded its images" in [
        r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("group, says", [
    (False, "2 of 3 images not made: refused: sensitive; refused: timeout"),
    (True, "2 images of the group (up to 3) not made: refused: sensitive; refused: timeout"),
])
def test_the_partial_failures_are_listed_one_after_another(api, media, scripted, group, says):
    engine = scripted()
    engine.outcomes = [result_of(engine, partial_failures=["refused: sensitive", "refused: timeout"])]
    task_id = api.generate(num_images=3)
    GenerationTask.objects.filter(task_id=task_id).update(group=group)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.error_message) == ("completed", says)


def test_the_images_of_a_users_task_are_theirs(accounts, media, scripted):
    from .accounts import make_user, signed_in

    alice = make_user("alice")
    scripted("ok")
    task_id = signed_in(alice).generate(num_images=2)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert [image.owner_id for image in task.images.all()] == [alice.pk, alice.pk]
