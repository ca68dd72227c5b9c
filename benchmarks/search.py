"""`make bench-large`: prompt search at 1,000,000 tasks, on SQLite and on PostgreSQL (issue 23, item 3).

Each database is seeded fast (SQLite: executemany in one transaction; PostgreSQL: COPY), the search index then
built once by the rebuild (`manage.py rebuild_search_index`). Timed: the search behind `/api/v1/history?q=…`
(its page of 20 and its capped count, open mode and one user's), and the requests themselves through
Django's whole request stack (test client). Rounds: every case once per round in turn, ROUND_REQUESTS
requests each; a case's figure is the median of its rounds' p95.

`python benchmarks/search.py` runs both databases (each in a process of its own) and writes its section of
BENCHMARKS.md; `--database sqlite|postgresql` runs one and prints a JSON line. SEARCH_TASKS sets the size."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TASKS = int(os.environ.get("SEARCH_TASKS", "1000000"))
ROUNDS = int(os.environ.get("SEARCH_ROUNDS", "5"))
ROUND_REQUESTS = 20
TARGET_MS = 20.0
USERS = 50
HEADING = "## Search at 1,000,000 tasks (`make bench-large`)"

EN = ("red fox whale lighthouse dawn city river forest snow cat dog castle robot garden ocean night mountain "
      "portrait watercolor neon").split()
ZH = "红色的狐狸 鲸鱼 灯塔 黎明时分 城市 河流 森林 雪 小猫 小狗 城堡 机器人 花园 海洋 夜晚 高山 肖像 水彩 霓虹".split()
RARE_EVERY = 50_000  # a rare word in 1 task of this many
# (label, q, what it shows). The common words are in about a third of the prompts; the rare ones in 20 of
# a million; the short ones are below the index's 3 characters (a scan: common stops early, rare does not).
CASES = [
    ("common English word", "lighthouse", "indexed"),
    ("rare English word", "xylophone", "indexed"),
    ("common Chinese word", "黎明时分", "indexed"),
    ("rare Chinese word", "琵琶湖畔", "indexed"),
    ("two words, common", "red fox", "indexed"),
    ("short (2 characters), common", "灯塔", "scan"),
]


def prompt_for(i: int, rng: random.Random) -> str:
    if i % 3 == 0:
        text = "".join(rng.choices(ZH, k=6))
        return text + ("琵琶湖畔" if i % RARE_EVERY == 7 else "") + f" #{i}"
    text = " ".join(rng.choices(EN, k=8))
    return text + (" xylophone" if i % RARE_EVERY == 11 else "") + f" #{i}"


def seed(tasks: int) -> tuple[float, float]:
    """Rows straight into the table (no model instances): a template row from the model, varied per task."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from generation import search_index
    from generation.models import GenerationTask, new_task_id

    started = time.perf_counter()
    users = [get_user_model().objects.create_user(f"searcher{n}").pk for n in range(USERS)]
    template = GenerationTask(prompt="", model="jimeng_t2i_v31", width=1024, height=1024, upstream_width=1024,
                              upstream_height=1024, engine="preview", status="completed", stage="done")
    fields = [f for f in GenerationTask._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    base = {f.attname: f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields}
    rng = random.Random(23)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    step = timedelta(days=300) / tasks

    def rows(first: int, last: int):
        for i in range(first, last):
            created = start + step * i
            created = created if connection.vendor == "postgresql" else str(created.replace(tzinfo=None))
            status = "completed" if i % 20 else ("failed", "cancelled", "pending")[i % 3]
            row = dict(base, task_id=new_task_id(), prompt=prompt_for(i, rng), seed=i, status=status,
                       owner_id=users[i % USERS], client_id=f"user:{users[i % USERS]}",
                       created_at=created, updated_at=created, completed_at=created)
            if i % 1000 == 5:  # a few in the trash
                row["deleted_at"] = row["completed_at"]
            yield [row[f.attname] for f in fields]

    table = connection.ops.quote_name(GenerationTask._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        # The index is built once afterwards by the rebuild (what `manage.py rebuild_search_index` runs), not
        # row by row: a million trigger runs or GIN insertions would take most of the seeding.
        for sql in ("DROP INDEX IF EXISTS idx_task_prompt_trgm",) if connection.vendor == "postgresql" else (
                "DROP TRIGGER tasks_search_insert", "DROP TRIGGER tasks_search_update", "DROP TRIGGER tasks_search_delete"):
            cursor.execute(sql)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows(0, tasks):
                    copy.write_row(row)
        else:
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB: the random task_id index fits, inserts stay cheap
            placeholders = ", ".join("%s" for _ in columns)
            for first in range(0, tasks, 50_000):
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})",
                                   list(rows(first, min(tasks, first + 50_000))))
    seeded = time.perf_counter()
    search_index.search_index_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return seeded - started, time.perf_counter() - seeded


def run_one(vendor: str) -> dict:
    data = os.environ.get("IMAGEGEN_BENCH_SEARCH_DIR") or tempfile.mkdtemp(prefix=f"imagegen-search-{vendor}-")
    os.environ.update(IMAGEGEN_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="imagegen.settings", LOG_LEVEL="WARNING",
                      RATELIMIT_ENABLE="false", IMAGEGEN_ACCESS="open")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from generation.models import GenerationTask
    from history.selectors import history_list

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    seconds, index_seconds = seed(TASKS)
    client = Client(HTTP_HOST="127.0.0.1")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="searcher0")

    def api(path: str, q: str):
        def go():
            response = client.get(path, {"q": q}, HTTP_ACCEPT="application/json")
            assert response.status_code == 200, (path, q, response.status_code, response.content[:300])
            return response.json()["count"]
        return go

    def search(q: str, owner=None):
        # What /api/v1/history?q= runs for its page and count (history.selectors.history_list: a PromptSearch),
        # the 20 tasks read with their images, without the JSON rendering of the list.
        def go():
            found = history_list(filters={"q": q}, user=owner)
            page = found[0:20]
            return found.count(), len(page)
        return go

    cases = {}
    for label, q, kind in CASES:
        cases[f"search, {label} ({q})"] = (search(q), kind)
    for label, q, kind in CASES[:2]:
        cases[f"search, one user's, {label} ({q})"] = (search(q, user), kind)
    for label, q, kind in CASES:
        cases[f"`/api/v1/history`, {label} ({q})"] = (api("/api/v1/history", q), kind)
    for label, q, kind in CASES[:2]:
        cases[f"`/api/v1/tasks`, {label} ({q})"] = (api("/api/v1/tasks", q), kind)
    counts = {name: fn() for name, (fn, _kind) in cases.items()}  # warm-up, and what each one finds
    samples: dict[str, list[list[float]]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, (fn, _kind) in cases.items():
            taken = []
            for _ in range(ROUND_REQUESTS):
                started = time.perf_counter()
                fn()
                taken.append((time.perf_counter() - started) * 1000)
            samples[name].append(sorted(taken))
    out = {}
    for name, rounds in samples.items():
        p95s = [r[min(len(r) - 1, round(0.95 * (len(r) - 1)))] for r in rounds]
        p50s = [r[len(r) // 2] for r in rounds]
        kind = cases[name][1]
        p95 = sorted(p95s)[len(p95s) // 2]
        out[name] = {"p50": round(sorted(p50s)[len(p50s) // 2], 1), "p95": round(p95, 1),
                     "rounds_p95": [round(x, 1) for x in p95s], "found": counts[name], "kind": kind,
                     "pass": p95 <= TARGET_MS if kind == "indexed" else None}
    return {"vendor": vendor, "tasks": GenerationTask.objects.count(), "seed_seconds": round(seconds), "index_seconds": round(index_seconds),
            "database": connection.vendor, "cases": out}


def postgres_database() -> str | None:
    try:
        import psycopg

        admin = os.environ.get("IMAGEGEN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        name = f"imagegen_search_{int(time.time())}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return admin.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + "/" + name
    except Exception:
        return None


def drop_database(url: str) -> None:
    import psycopg

    admin = os.environ.get("IMAGEGEN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def bench_search() -> dict:
    """Both databases, each in a process of its own (the settings read DATABASE_URL once)."""
    results = {}
    for vendor in ("sqlite", "postgresql"):
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        url = postgres_database() if vendor == "postgresql" else None
        if vendor == "postgresql":
            if url is None:
                results[vendor] = {"skipped": "PostgreSQL is not reachable on 127.0.0.1:5432"}
                continue
            env["DATABASE_URL"] = url
        try:
            with tempfile.TemporaryDirectory(prefix=f"imagegen-search-{vendor}-") as data:  # 1.4 GB for SQLite
                out = subprocess.run([sys.executable, __file__, "--database", vendor], capture_output=True, text=True,
                                     cwd=ROOT, env={**env, "IMAGEGEN_BENCH_SEARCH_DIR": data}, timeout=3600)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-3000:])
            results[vendor] = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            if url:
                drop_database(url)
    return results


def _mark(ok) -> str:
    return "—" if ok is None else ("pass" if ok else "**FAIL**")


def lines(info: str, results: dict) -> list[str]:
    out = [HEADING, "",
           f"Measured {info}. `benchmarks/search.py`: {TASKS:,} tasks (a third with Chinese prompts, 50 owners, 1 in",
           "1,000 in the trash, 1 in 20 unfinished or failed), seeded straight into the table (executemany; COPY on",
           "PostgreSQL), the search index then built by `rebuild_search_index` (SQLite FTS5 trigram, PostgreSQL",
           "pg_trgm), then ANALYZE. A \"search\" row is what `GET /api/v1/history?q=…` runs for its page and count",
           "(`history_list`'s `PromptSearch`: the count capped at 1,000, then the page's 20 tasks read with their",
           "images), without rendering the list's JSON (items 1 and 2 of issue 23 make that cheap); \"one user's\" is",
           "accounts mode, for one of the 50 owners. The API rows are the requests themselves through Django's whole",
           f"request stack (test client, open mode). {ROUNDS} rounds of {ROUND_REQUESTS} requests per case, every case in turn;",
           f"the figure is the median of the rounds' p95. Target: p95 ≤ {TARGET_MS:.0f} ms for the search rows (the issue's",
           "common and rare word, English and Chinese). \"found\" is the count the request reports (1,000 is \"1,000+\").",
           "Text shorter than 3 characters has no trigram and is a scan, newest first, that stops at the page and",
           "at the count's cap: common text costs what is shown, rare text reads every task (no target).", ""]
    for vendor, x in results.items():
        if "skipped" in x:
            out += [f"**{vendor}**: skipped ({x['skipped']}).", ""]
            continue
        out += [f"**{vendor}** ({x['tasks']:,} tasks, seeded in {x['seed_seconds']} s, the index built in {x['index_seconds']} s by `rebuild_search_index`):", "",
                "| case | found | p50 | p95 (median of rounds) | each round's p95 | target |",
                "|---|---:|---:|---:|---|---|"]
        for name, c in x["cases"].items():
            found = c["found"]
            found = f"{found[0]:,}" if isinstance(found, list) else f"{found:,}"
            ok = c["pass"] if name.startswith("search") else None  # the API rows: shown, item 1's to meet
            out.append(f"| {name} | {found} | {c['p50']} ms | {c['p95']} ms | {', '.join(map(str, c['rounds_p95']))} | "
                       f"{_mark(ok)} |")
        out.append("")
    verdicts = {vendor: [c["pass"] for name, c in x["cases"].items() if name.startswith("search") and c["pass"] is not None]
                for vendor, x in results.items() if "cases" in x}
    out += ["Target (p95 ≤ 20 ms, search rows): " + "; ".join(
        f"{vendor} **{'met' if v and all(v) else 'not met'}** ({sum(v)} of {len(v)} rows)" for vendor, v in verdicts.items())
        + ".", ""]
    return out


def write_section(info: str, results: dict, path: Path) -> None:
    """This section only, in place (or before the findings): `make bench`'s sections are left as they are."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "\n".join(lines(info, results)).rstrip() + "\n"
    pattern = re.compile(re.escape(HEADING) + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda m: section, old)
    elif "\n## Findings" in old:
        new = old.replace("\n## Findings", "\n" + section + "\n## Findings", 1)
    else:
        new = old.rstrip() + "\n\n" + section
    path.write_text(new)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    if args.database:
        print(json.dumps(run_one(args.database)))
        return
    from common import machine

    started = time.time()
    results = bench_search()
    print(json.dumps(results, indent=1))
    info = (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} in {round(time.time() - started)} s on "
            f"{machine()}")
    write_section(info, results, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
