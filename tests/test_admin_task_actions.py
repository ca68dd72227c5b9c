"""Staff actions on tasks in the console: retry, cancel and delete with files, each recorded in the audit log."""

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission

from generation.engines.base import EngineError, Retry
from generation.models import GenerationTask

from .admin_helpers import LOG, TASKS, act, make_tasks, messages_of
from .conftest import files_under, run

pytestmark = pytest.mark.django_db


def unreachable():
    return EngineError("upstream_unreachable", "connection refused", retry=Retry.BACKOFF, request_id="req-7")


def test_a_failed_task_retried_from_the_list_runs_again_until_it_completes(admin_client, api, media, scripted, settings):
    settings.IMAGEGEN_MAX_ATTEMPTS = 2
    engine = scripted(unreachable(), unreachable(), "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.status == "failed" and task.attempts == 2 and task.retry_count == 1

    response = act(admin_client, TASKS, "retry_tasks", [task.pk])
    assert "1 task queued for another attempt." in messages_of(response)
    task.refresh_from_db()
    assert task.status == "pending" and task.error_code == "" and task.retry_count == 2

    run(task_id)  # what the worker does with the message the retry enqueued
    task.refresh_from_db()
    assert task.status == "completed" and task.images.count() == 1
    assert len(engine.calls) == 3
    assert task.retry_count == 2 and task.attempts == 1
    entry = LogEntry.objects.get(object_id=str(task.pk), action_flag=CHANGE)
    assert "upstream_unreachable" in entry.change_message and "req-7" in entry.change_message


def test_a_task_is_retried_from_its_own_page(admin_client, api, media, scripted):
    scripted(EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER), "ok")
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    page = admin_client.get(f"{TASKS}{task.pk}/change/").content.decode()
    assert 'value="retry_tasks"' in page
    response = admin_client.post(
        f"{TASKS}{task.pk}/change/",
        {"CHANGE_FORM-action": "retry_tasks", "_selected_action": [str(task.pk)], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    assert GenerationTask.objects.get(pk=task.pk).status == "pending"
    run(task_id)
    assert GenerationTask.objects.get(pk=task.pk).status == "completed"


def test_only_failed_or_cancelled_tasks_are_retried(admin_client):
    completed, pending = make_tasks(1) + make_tasks(1, status="pending")
    response = act(admin_client, TASKS, "retry_tasks", [completed.pk, pending.pk])
    assert "2 tasks were skipped: only failed or cancelled tasks can be retried." in messages_of(response)
    assert GenerationTask.objects.get(pk=completed.pk).status == "completed"
    assert GenerationTask.objects.get(pk=pending.pk).status == "pending"


def test_retrying_from_a_list_filtered_by_status_counts_what_was_selected(admin_client):
    failed, cancelled = make_tasks(1, status="failed") + make_tasks(1, status="cancelled")
    # The action is posted to the filtered list; the retried tasks leave that filter as they go back to pending.
    response = act(admin_client, f"{TASKS}?status__exact=failed", "retry_tasks", [failed.pk])
    said = messages_of(response)
    assert "1 task queued for another attempt." in said
    assert not any("skipped" in m for m in said), said
    response = act(admin_client, f"{TASKS}?status__exact=cancelled", "cancel_tasks", [cancelled.pk])
    assert "1 task was skipped: it had already finished." in messages_of(response)
    pending = make_tasks(1, status="pending")[0]
    response = act(admin_client, f"{TASKS}?status__exact=pending", "cancel_tasks", [pending.pk])
    said = messages_of(response)
    assert "1 task cancelled." in said and not any("skipped" in m for m in said), said


def test_cancelling_a_pending_task_stops_it_and_is_logged(admin_client, api, media):
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    response = act(admin_client, TASKS, "cancel_tasks", [task.pk])
    assert "1 task cancelled." in messages_of(response)
    task.refresh_from_db()
    assert task.status == "cancelled" and task.completed_at is not None
    run(task_id)  # the queued message arrives: nothing happens
    task.refresh_from_db()
    assert task.status == "cancelled" and task.images.count() == 0 and files_under(media) == []
    assert LogEntry.objects.filter(object_id=str(task.pk), action_flag=CHANGE, change_message="Cancelled").exists()


def test_deleting_tasks_from_the_list_removes_their_files(admin_client, api, media, django_capture_on_commit_callbacks):
    keep_id, gone_id = api.generate(prompt="keep me"), api.generate(prompt="delete me", num_images=2)
    run(keep_id)
    run(gone_id)
    gone = GenerationTask.objects.get(task_id=gone_id)
    gone_files = {p for image in gone.images.all() for p in (image.file_path, image.thumbnail_path)}
    assert gone_files <= set(files_under(media))

    confirm = act(admin_client, TASKS, "delete_selected", [gone.pk])
    assert "Are you sure" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, TASKS, "delete_selected", [gone.pk], post="yes")
    assert response.status_code == 200
    assert not GenerationTask.objects.filter(task_id=gone_id).exists()
    remaining = set(files_under(media))
    assert not gone_files & remaining
    assert not any(gone_id in path for path in remaining)
    keep = GenerationTask.objects.get(task_id=keep_id)
    assert {p for i in keep.images.all() for p in (i.file_path, i.thumbnail_path)} == remaining
    assert LogEntry.objects.filter(object_id=str(gone.pk), action_flag=DELETION).exists()


def test_deleting_a_task_from_its_page_removes_its_files(admin_client, api, media, django_capture_on_commit_callbacks):
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert files_under(media)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{TASKS}{task.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not GenerationTask.objects.filter(pk=task.pk).exists()
    assert files_under(media) == []


def test_deleting_an_unfinished_task_cancels_it_first(admin_client, api, media, django_capture_on_commit_callbacks):
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, TASKS, "delete_selected", [task.pk], post="yes")
    assert not GenerationTask.objects.filter(pk=task.pk).exists()
    run(task_id)  # its queue message finds nothing to do
    assert files_under(media) == []


def test_staff_actions_are_visible_in_the_audit_log(admin_client, api, media):
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    act(admin_client, TASKS, "cancel_tasks", [task.pk])
    page = admin_client.get(LOG).content.decode()
    assert str(task) in page or task.task_id in page
    assert "Cancelled" in page
    detail = admin_client.get(f"{TASKS}{task.pk}/change/").content.decode()
    assert "Staff: admin" in detail  # on the task's own timeline too


def test_a_staff_user_without_the_change_permission_cannot_retry_or_cancel(client, django_user_model, api):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_generationtask"))
    client.force_login(user)
    task_id = api.generate()
    task = GenerationTask.objects.get(task_id=task_id)
    page = client.get(TASKS).content.decode()
    assert "cancel_tasks" not in page and "retry_tasks" not in page
    act(client, TASKS, "cancel_tasks", [task.pk])
    assert GenerationTask.objects.get(pk=task.pk).status == "pending"
