"""Helpers for the staff-console tests: rows made in bulk, and the admin's list and action requests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from generation.models import GenerationTask, Image

TASKS = "/admin/generation/generationtask/"
IMAGES = "/admin/generation/image/"
TAGS = "/admin/generation/imagetag/"
LOG = "/admin/admin/logentry/"


def make_tasks(count: int, *, status="completed", prompt="a quiet harbour {n}", images_per_task=0, age=None, **fields):
    """`count` task rows (and image rows without files), newest last. Fast: two bulk inserts."""
    now = timezone.now()
    tasks = GenerationTask.objects.bulk_create(
        GenerationTask(
            prompt=prompt.format(n=n),
            model=fields.get("model", "jimeng_t2i_v31"),
            width=1024,
            height=1024,
            upstream_width=1024,
            upstream_height=1024,
            engine=fields.get("engine", "preview"),
            status=status,
            stage="done" if status in ("completed", "failed", "cancelled") else "queued",
            created_at=now - (age or timedelta(0)) - timedelta(seconds=count - n),
            started_at=now - (age or timedelta(0)) - timedelta(seconds=count - n) if status == "completed" else None,
            completed_at=now - (age or timedelta(0)) - timedelta(seconds=count - n - 1) if status == "completed" else None,
            **{k: v for k, v in fields.items() if k not in ("model", "engine")},
        )
        for n in range(count)
    )
    Image.objects.bulk_create(
        Image(
            task=task, index=i, file_path=f"{task.file_prefix()}/x-{i}.png",
            thumbnail_path=f"{task.file_prefix()}/x-{i}.thumb.webp", file_size=1000, thumbnail_size=100,
            width=1024, height=1024, format="png", sha256="0" * 64,
        )
        for task in tasks
        for i in range(images_per_task)
    )
    return tasks


def act(client, url: str, action: str, pks, **extra):
    """Submit an admin action for the selected rows, as the list's action bar does."""
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0", **extra}
    return client.post(url, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
