"""manage.py queue_status: pending, running, failures in the last hour, the oldest pending age, workers seen."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from generation.models import GenerationTask

from .admin_helpers import make_tasks

pytestmark = pytest.mark.django_db


def status(*args) -> str:
    out = StringIO()
    call_command("queue_status", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def queue():
    make_tasks(3, status="pending", age=timedelta(minutes=10))
    make_tasks(1, status="processing")
    make_tasks(1, status="retrying")
    failed = make_tasks(3, status="failed")
    GenerationTask.objects.filter(pk=failed[0].pk).update(completed_at=timezone.now() - timedelta(hours=2))
    GenerationTask.objects.filter(pk__in=[t.pk for t in failed[1:]]).update(completed_at=timezone.now())
    make_tasks(2, status="completed")


def test_it_reports_the_queue(queue):
    data = json.loads(status("--json"))
    assert (data["pending"], data["running"], data["retrying"]) == (3, 1, 1)
    assert data["failed_last_hour"] == 2 and data["completed_last_hour"] == 2
    assert 600 <= data["oldest_pending_seconds"] < 700
    assert data["workers"] == 0 and data["clusters"] == 0
    assert data["queued_messages"] >= 0


def test_the_text_report_names_each_figure(queue):
    text = status()
    for label in ("pending", "running", "failed in the last hour", "oldest pending", "workers seen"):
        assert label in text
    assert "10 min" in text
    assert "no worker has reported recently" in text


def test_it_exits_non_zero_when_the_oldest_pending_task_waited_too_long(queue):
    with pytest.raises(CommandError, match="oldest pending task has waited"):
        status("--max-pending-age", "60")
    status("--max-pending-age", "3600")


def test_an_empty_queue_has_no_oldest_age(db):
    data = json.loads(status("--json"))
    assert data["pending"] == 0 and data["oldest_pending_seconds"] is None
