"""Benchmark: the staff console's task list with 100,000 tasks (issue 5: "renders in under 0.5 s on this
machine and its query count does not depend on page size").

    .venv/bin/python benchmarks/admin_changelist.py [--tasks 100000] [--runs 15] [--data-dir DIR]

Seeds a fresh SQLite data directory (or reuses --data-dir if it already has the rows), logs a superuser in
with Django's test client and times complete GET requests of the changelist (middleware, queries, template
rendering) for several page sizes, filters and searches; prints a Markdown table of the median and p90 wall
time and the query count of each. Results go in BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15, help="timed requests per case (after one warm-up)")
    parser.add_argument("--data-dir", help="reuse this data directory (seeded on first use)")
    return parser.parse_args()


def setup_django(data_dir: Path) -> None:
    os.environ["IMAGEGEN_DATA_DIR"] = str(data_dir)
    os.environ["IMAGEGEN_ENGINE"] = "preview"
    os.environ["DJANGO_SETTINGS_MODULE"] = "imagegen.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def seed(count: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from generation.catalogue import all_models
    from generation.models import ImageTag
    from generation.models import GenerationTask, Image

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as `make run` does
    have = GenerationTask.objects.count()
    if have >= count:
        return
    rng = random.Random(5)
    models = [m.id for m in all_models()]
    words = "harbour lighthouse cat dog city night forest river mountain kite sunset portrait 猫咪 城市 山".split()
    now = timezone.now()
    batch = 5000
    started = time.perf_counter()
    for offset in range(have, count, batch):
        rows = []
        for n in range(offset, min(offset + batch, count)):
            created = now - timedelta(seconds=(count - n) * 75)  # ~87 days of history
            status = rng.choices(["completed", "failed", "cancelled", "pending"], [85, 9, 5, 1])[0]
            done = status != "pending"
            rows.append(GenerationTask(
                prompt=" ".join(rng.choices(words, k=rng.randint(3, 12))) + f" #{n}",
                model=rng.choice(models), width=1024, height=1024, upstream_width=1024, upstream_height=1024,
                engine=rng.choice(["preview", "volcengine"]), status=status, stage="done" if done else "queued",
                progress=100 if status == "completed" else 0, retry_count=rng.choice([0, 0, 0, 1, 2]),
                attempts=1, seed=rng.randint(0, 2**31 - 1), created_at=created,
                started_at=created + timedelta(seconds=1) if done else None,
                completed_at=created + timedelta(seconds=rng.uniform(3, 40)) if done else None,
                error_code="upstream_error" if status == "failed" else "",
                upstream_request_id=f"2026{n:012d}" if done else "",
            ))
        tasks = GenerationTask.objects.bulk_create(rows)
        images = Image.objects.bulk_create(
            Image(task=t, index=0, file_path=f"{t.file_prefix()}/b-0.png", thumbnail_path=f"{t.file_prefix()}/b-0.thumb.webp",
                  file_size=1_500_000, thumbnail_size=30_000, width=1024, height=1024, format="png", sha256="0" * 64,
                  created_at=t.completed_at)
            for t in tasks if t.status == "completed"
        )
        ImageTag.objects.bulk_create(ImageTag(image=i, tag_name=rng.choice(words[:6])) for i in images[::4])
        print(f"  seeded {min(offset + batch, count)} tasks ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(client, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    rows = response.content.decode().count('name="_selected_action"')
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1], len(ctx.captured_queries), rows


def main() -> None:
    args = parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="imagegen-bench-"))
    setup_django(data_dir)
    print(f"data directory: {data_dir}", file=sys.stderr)
    seed(args.tasks)

    from django.contrib.auth import get_user_model
    from django.test import Client

    from gallery.admin import ImageAdmin
    from generation.admin import GenerationTaskAdmin
    from generation.models import GenerationTask, Image

    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.invalid", "bench"
    )
    client = Client()
    client.force_login(user)
    some_id = GenerationTask.objects.order_by("?").values_list("task_id", flat=True).first()
    tasks_url, images_url = "/admin/generation/generationtask/", "/admin/generation/image/"
    cases = [
        ("tasks, 50 per page (default)", tasks_url, GenerationTaskAdmin, 50),
        ("tasks, 100 per page", tasks_url, GenerationTaskAdmin, 100),
        ("tasks, 200 per page", tasks_url, GenerationTaskAdmin, 200),
        ("tasks, page 1000", tasks_url + "?p=1000", GenerationTaskAdmin, 50),
        ("tasks, status = failed", tasks_url + "?status__exact=failed", GenerationTaskAdmin, 50),
        ("tasks, model filter", tasks_url + "?model=jimeng_t2i_v40", GenerationTaskAdmin, 50),
        ("tasks, past 7 days", tasks_url + "?created_at__gte=" + (GenerationTask.objects.latest("created_at").created_at
                                                                  - timedelta(days=7)).isoformat().replace("+", "%2B"),
         GenerationTaskAdmin, 50),
        ("tasks, search prompt text", tasks_url + "?q=lighthouse", GenerationTaskAdmin, 50),
        ("tasks, search a task id", tasks_url + f"?q={some_id}", GenerationTaskAdmin, 50),
        ("tasks, retried only", tasks_url + "?retried=yes", GenerationTaskAdmin, 50),
        ("tasks, search a task id prefix", tasks_url + f"?q={some_id[:8]}", GenerationTaskAdmin, 50),
        ("tasks, sorted by model", tasks_url + "?o=5", GenerationTaskAdmin, 50),
        ("images, 50 per page", images_url, ImageAdmin, 50),
        ("images, 200 per page", images_url, ImageAdmin, 200),
        ("images, tag filter", images_url + "?tag=cat", ImageAdmin, 50),
    ]
    print(f"\n{GenerationTask.objects.count():,} tasks, {Image.objects.count():,} images; "
          f"{args.runs} timed requests per case\n")
    print("| case | median | p90 | queries | rows |")
    print("|---|---:|---:|---:|---:|")
    for label, url, admin_class, per_page in cases:
        admin_class.list_per_page = per_page
        median, p90, queries, rows = measure(client, url, args.runs)
        print(f"| {label} | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms | {queries} | {rows} |")
    import django

    print(f"\nPython {platform.python_version()}, Django {django.get_version()}, SQLite "
          f"{__import__('sqlite3').sqlite_version}, {platform.machine()}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
