"""services.task_cancel: an unfinished task, and only it, becomes cancelled and finished at once, with the
documented error; a finished task is left as it is; the log says so."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from generation import services
from generation.models import GenerationTask

from .admin_helpers import make_tasks

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["pending", "processing", "retrying"])
def test_it_finishes_an_unfinished_task_as_cancelled(status, caplog):
    caplog.set_level(logging.INFO, logger="generation.services")
    task, other = make_tasks(2, status=status, next_attempt_at=timezone.now() + timedelta(minutes=1))
    before = timezone.now()

    assert services.task_cancel(task=task) is True

    # the object passed in is refreshed too
    assert (task.status, task.stage, task.error_code, task.error_message) == (
        "cancelled", "done", "cancelled", "cancelled by request")
    assert before <= task.completed_at <= timezone.now()
    assert task.next_attempt_at is None
    assert GenerationTask.objects.get(pk=task.pk).status == "cancelled"
    untouched = GenerationTask.objects.get(pk=other.pk)
    assert (untouched.status, untouched.completed_at) == (status, None)
    assert untouched.next_attempt_at is not None
    assert [r.getMessage() for r in caplog.records if r.name == "generation.services"] == [
        f"task {task.task_id} cancelled"]


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_a_finished_task_is_not_cancelled(status, caplog):
    caplog.set_level(logging.INFO, logger="generation.services")
    task = make_tasks(1, status=status, error_code="x" if status != "completed" else "")[0]
    completed_at = task.completed_at
    assert services.task_cancel(task=task) is False
    row = GenerationTask.objects.get(pk=task.pk)
    assert (row.status, row.completed_at, row.error_code) == (status, completed_at, task.error_code)
    assert not [r for r in caplog.records if r.name == "generation.services"]
