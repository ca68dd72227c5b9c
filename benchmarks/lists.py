"""Lists at size: 100,000 tasks and 190,000 images (a tag on every third) in SQLite; /api/v1/history and /api/v1/tasks (first and
deep pages, filters, prompt search) and the gallery and history pages, timed through Django's full
request stack; query counts for two page sizes. Prints one JSON line."""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("IMAGEGEN_BENCH_LISTS_DIR") or tempfile.mkdtemp(prefix="imagegen-lists-"))
os.environ.update(IMAGEGEN_DATA_DIR=str(DATA), DJANGO_SETTINGS_MODULE="imagegen.settings", LOG_LEVEL="WARNING",
                  RATELIMIT_ENABLE="false")

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from generation.models import GenerationTask, Image, ImageTag  # noqa: E402

WORDS = "red fox whale lighthouse dawn city river forest snow cat dog castle robot garden ocean night".split()
MODELS = ["jimeng_t2i_v31", "jimeng_t2i_v30", "high_aes_general_v30l_zt2i", "jimeng_t2i_v40"]


def seed(tasks: int = 100_000) -> None:
    if GenerationTask.objects.count() >= tasks:
        return
    rng = random.Random(1)
    start = timezone.now() - timedelta(days=90)
    step = timedelta(days=90) / tasks
    for offset in range(0, tasks, 5000):
        rows, images = [], []
        for i in range(offset, min(tasks, offset + 5000)):
            created = start + step * i
            status = "completed" if i % 20 else rng.choice(["failed", "cancelled", "pending"])
            rows.append(GenerationTask(
                prompt=" ".join(rng.choices(WORDS, k=8)) + f" #{i}", model=MODELS[i % 4], width=1024, height=1024,
                upstream_width=1024, upstream_height=1024, seed=i, engine="preview", status=status,
                stage="done" if status != "pending" else "queued", created_at=created,
                started_at=created, completed_at=created + timedelta(seconds=8) if status != "pending" else None,
                num_images=2))
        with transaction.atomic():
            created_rows = GenerationTask.objects.bulk_create(rows)
            for task in created_rows:
                if task.status == "completed":
                    for index in (0, 1):
                        images.append(Image(task=task, index=index, file_path=f"images/x/{task.task_id}-{index}.png",
                                            thumbnail_path=f"images/x/{task.task_id}-{index}.webp", file_size=200_000,
                                            thumbnail_size=12_000, width=1024, height=1024, format="png",
                                            sha256="0" * 64, seed=task.seed + index, created_at=task.created_at))
            images = Image.objects.bulk_create(images, batch_size=2000)
            # A tag on every third image, as a gallery in use has them (the lists read them with the images).
            ImageTag.objects.bulk_create([ImageTag(image=image, tag_name=WORDS[n % len(WORDS)])
                                          for n, image in enumerate(images) if n % 3 == 0], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(client: Client, url: str, runs: int = 25) -> dict:
    client.get(url)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, HTTP_ACCEPT="application/json")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return {"p50": round(samples[len(samples) // 2], 1), "p95": round(samples[int(len(samples) * 0.95) - 1], 1)}


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, HTTP_ACCEPT="application/json")
    return len(ctx.captured_queries)


def main() -> None:
    if "--seed-only" in sys.argv:  # the data of benchmarks/list_load.py, in IMAGEGEN_BENCH_LISTS_DIR
        call_command("migrate", verbosity=0)
        seed(int(os.environ.get("BENCH_LISTS_TASKS", "100000")))
        print(json.dumps({"tasks": GenerationTask.objects.count(), "images": Image.objects.count()}))
        return
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    seeded = time.perf_counter()
    seed()
    seconds = time.perf_counter() - seeded
    client = Client(HTTP_HOST="127.0.0.1")  # an allowed host (ALLOWED_HOSTS has no "testserver")
    cases = {
        "history, first page": "/api/v1/history",
        "history, page 2000": "/api/v1/history?page=2000",
        "history, status=failed": "/api/v1/history?status=failed",
        "history, prompt search": "/api/v1/history?q=lighthouse%20dawn",
        "tasks, first page": "/api/v1/tasks",
        "tasks, page 4000": "/api/v1/tasks?page=4000",
        "tasks, model filter": "/api/v1/tasks?model=jimeng_t2i_v40",
        "tasks, prompt search": "/api/v1/tasks?q=castle",
        "tasks, status + model + search": "/api/v1/tasks?status=completed&model=jimeng_t2i_v31&q=robot",
        "gallery images, first page": "/api/v1/images",
    }
    out = {"tasks": GenerationTask.objects.count(), "images": Image.objects.count(), "seed_seconds": round(seconds),
           "cases": {name: timed(client, url) for name, url in cases.items()}}
    out["pages"] = {name: timed(client, url) for name, url in
                    {"gallery page": "/gallery", "history page": "/history", "generate page": "/"}.items()}
    out["queries"] = {size: queries(client, f"/api/v1/tasks?page_size={size}") for size in (10, 100)}
    out["pass"] = (all(c["p95"] <= 50 for c in out["cases"].values())
                   and all(c["p95"] <= 200 for c in out["pages"].values())
                   and out["queries"][10] == out["queries"][100])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
