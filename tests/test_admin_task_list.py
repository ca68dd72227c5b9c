"""The staff console's task list: columns, filters, search, escaping, and a query count that does not grow
with the page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generation.admin import GenerationTaskAdmin
from generation.models import GenerationTask

from .admin_helpers import TASKS, make_tasks
from .conftest import run

pytestmark = pytest.mark.django_db


def listed(response) -> set[str]:
    return {task.task_id for task in response.context["cl"].result_list}


def test_it_lists_tasks_with_status_stage_model_prompt_retries_duration_thumbnail_and_time(admin_client, api, media):
    task_id = api.generate(prompt="a lighthouse at dusk")
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    image = task.images.get()
    response = admin_client.get(TASKS)
    assert response.status_code == 200
    html = response.content.decode()
    for column in ("status", "stage", "model", "prompt", "retry count", "duration", "image", "created at"):
        assert column.lower() in html.lower()
    assert task_id[:8] in html and "Completed" in html and "general_v2.0" not in html
    assert "high_aes_general_v20" in html and "a lighthouse at dusk" in html
    assert f'src="/api/v1/images/{image.image_id}/thumbnail"' in html
    assert " s<" in html  # the duration


def test_it_escapes_prompts(admin_client):
    make_tasks(1, prompt='<script>alert("x")</script> {n}')
    html = admin_client.get(TASKS).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_it_filters_by_status_model_engine_and_date(admin_client):
    done = make_tasks(2, status="completed")
    failed = make_tasks(1, status="failed", model="high_aes_general_v20")
    other_engine = make_tasks(1, status="completed", engine="volcengine")
    old = make_tasks(1, status="completed", age=timedelta(days=40))

    assert listed(admin_client.get(TASKS, {"status__exact": "failed"})) == {failed[0].task_id}
    assert listed(admin_client.get(TASKS, {"model": "high_aes_general_v20"})) == {failed[0].task_id}
    assert listed(admin_client.get(TASKS, {"engine": "volcengine"})) == {other_engine[0].task_id}
    recent = admin_client.get(TASKS, {"created_at__gte": (old[0].created_at + timedelta(days=1)).isoformat()})
    assert listed(recent) == {t.task_id for t in done + failed + other_engine}


def test_it_searches_prompts_task_ids_and_upstream_request_ids(admin_client):
    cat, dog = make_tasks(1, prompt="一只可爱的猫咪 {n}") + make_tasks(1, prompt="a dog {n}")
    GenerationTask.objects.filter(pk=dog.pk).update(upstream_request_id="20261129abcdef")

    assert listed(admin_client.get(TASKS, {"q": "猫咪"})) == {cat.task_id}
    assert listed(admin_client.get(TASKS, {"q": cat.task_id})) == {cat.task_id}
    assert listed(admin_client.get(TASKS, {"q": cat.task_id[:8]})) == {cat.task_id}
    assert listed(admin_client.get(TASKS, {"q": "20261129abcdef"})) == {dog.task_id}
    assert listed(admin_client.get(TASKS, {"q": "no such thing"})) == set()


def test_its_query_count_does_not_depend_on_the_page_size(admin_client, monkeypatch):
    make_tasks(120, images_per_task=2)

    def queries(per_page: int) -> int:
        monkeypatch.setattr(GenerationTaskAdmin, "list_per_page", per_page)
        admin_client.get(TASKS)  # warm caches (content types, session)
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get(TASKS)
        assert len(response.context["cl"].result_list) == per_page
        return len(ctx.captured_queries)

    assert queries(10) == queries(100)


def test_it_does_not_count_the_whole_table_twice_when_filtered(admin_client):
    make_tasks(3)
    with CaptureQueriesContext(connection) as ctx:
        admin_client.get(TASKS, {"status__exact": "completed"})
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper() and '"tasks"' in q["sql"]]
    assert len(counts) == 1


def test_the_task_page_shows_parameters_error_timeline_and_images(admin_client, api, media, scripted):
    from generation.engines.base import EngineError, Retry

    scripted(EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER, upstream_code="50412",
                         request_id="req-42"))
    failed_id = api.generate(prompt="something rejected", steps=25)
    run(failed_id)
    failed = GenerationTask.objects.get(task_id=failed_id)
    html = admin_client.get(f"{TASKS}{failed.pk}/change/").content.decode()
    for text in ("something rejected", "content_rejected", "50412", "req-42", "Created", "Started", "Failed",
                 "high_aes_general_v20", "25"):
        assert text in html, text

    done_id = api.generate(prompt="a completed one", num_images=2)
    run(done_id)
    done = GenerationTask.objects.get(task_id=done_id)
    html = admin_client.get(f"{TASKS}{done.pk}/change/").content.decode()
    for image in done.images.all():
        assert f"/api/v1/images/{image.image_id}/thumbnail" in html
        assert image.sha256 in html
    assert 'name="_save"' not in html  # read-only: a stale form must never overwrite a worker's writes


def test_the_timeline_lists_each_worker_run_the_queue_recorded(admin_client, api, media):
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Task as QueueRecord

    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    started = timezone.now() - timedelta(seconds=30)
    for n, ok in enumerate((False, True)):
        QueueRecord.objects.create(
            id=f"{n:032d}", name=f"generate {task_id}", func="generation.tasks.run_generation",
            started=started + timedelta(seconds=10 * n), stopped=started + timedelta(seconds=10 * n + 2), success=ok,
        )
    html = admin_client.get(f"{TASKS}{task.pk}/change/").content.decode()
    assert "Worker run 1</strong> — raised an error, 2.0 s" in html
    assert "Worker run 2</strong> — returned, 2.0 s" in html
    assert "1 engine attempts in the current run; 0 retries in all" in html


def test_the_console_speaks_chinese(admin_client):
    make_tasks(1)
    html = admin_client.get(TASKS, headers={"accept-language": "zh-hans"}).content.decode()
    assert "重试所选的失败或已取消任务" in html and "imagegen 管理后台" in html and "清理…" in html
