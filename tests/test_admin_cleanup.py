"""The console's Clean up page: a preview first, then the deletion of exactly what was previewed, logged."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.utils import timezone

from generation.models import GenerationTask

from .admin_helpers import TASKS, messages_of
from .conftest import files_under, run

pytestmark = pytest.mark.django_db

CLEANUP = TASKS + "cleanup/"


@pytest.fixture
def old_and_new(api, media):
    old, new = api.generate(prompt="old"), api.generate(prompt="new")
    run(old)
    run(new)
    long_ago = timezone.now() - timedelta(days=90)
    GenerationTask.objects.filter(task_id=old).update(created_at=long_ago, started_at=long_ago, completed_at=long_ago)
    return old, new


def test_the_list_links_to_the_cleanup_page(admin_client):
    assert CLEANUP in admin_client.get(TASKS).content.decode()
    assert admin_client.get(CLEANUP).status_code == 200


def test_a_preview_shows_the_plan_and_deletes_nothing(admin_client, old_and_new, media):
    old, new = old_and_new
    files = files_under(media)
    response = admin_client.post(CLEANUP, {"older_than_days": "30", "files": "on", "grace_hours": "24",
                                           "preview": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and old in html and new not in html
    assert 'name="apply"' in html
    assert GenerationTask.objects.count() == 2 and files_under(media) == files


def test_deleting_needs_a_preview_of_the_same_settings(admin_client, old_and_new):
    data = {"older_than_days": "30", "grace_hours": "24", "apply": "1", "previewed": "something else"}
    admin_client.post(CLEANUP, data)
    assert GenerationTask.objects.count() == 2


def test_confirming_deletes_the_previewed_tasks_with_their_files_and_logs_it(
    admin_client, old_and_new, media, django_capture_on_commit_callbacks
):
    old, new = old_and_new
    form = {"older_than_days": "30", "files": "on", "grace_hours": "24"}
    preview = admin_client.post(CLEANUP, {**form, "preview": "1"})
    previewed = preview.context["plan"].policy.describe()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CLEANUP, {**form, "apply": "1", "previewed": previewed}, follow=True)
    assert any(m.startswith("Cleanup done: 1 tasks deleted") for m in messages_of(response))
    assert list(GenerationTask.objects.values_list("task_id", flat=True)) == [new]
    assert not any(old in path for path in files_under(media))
    assert LogEntry.objects.filter(action_flag=DELETION, change_message__startswith="Deleted by the cleanup").count() == 1
    assert LogEntry.objects.filter(object_repr="Cleanup").exists()


def test_a_bad_budget_is_a_form_error(admin_client, db):
    response = admin_client.post(CLEANUP, {"max_size": "much", "grace_hours": "24", "preview": "1"})
    assert "Not a size" in response.content.decode()
