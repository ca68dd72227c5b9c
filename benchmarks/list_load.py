"""Lists under load (`benchmarks/list_load.py`, or `benchmarks/run.py --only list-load`; part of `make bench`).

100,000 tasks (as `benchmarks/lists.py` seeds them, with tags) behind the web server `make run` starts (2
workers). In each round wrk (2 threads, 50 connections, 4 s) drives, one after the other, the single-task read
`GET /api/v1/task/{id}` (a completed task with two images, as a list item) and the lists: `/api/v1/history` and
`/api/v1/tasks` at 20 items, pages 1–50 (a Lua script cycles the page numbers), and the gallery's
`/api/v1/images` at 20 items, pages 1–50. Each list's figure is its requests per second over the task read's in
the same round; the verdict is the median of the rounds' ratios. Target (issue 23): a 20-item page costs no more
than 4 single reads, i.e. a ratio >= 0.25. CPU per request is the web server's processes' CPU time (user +
system, from /proc) over the round's requests: what a request costs whatever wrk's connections do."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Stack, cpu_seconds, machine, setup_django  # noqa: E402

HEADING = "## 3b. Lists under load"
PAGES = 50
TARGET = 0.25
LISTS = {
    "history": "/api/v1/history?page_size=20&page=",
    "tasks": "/api/v1/tasks?page_size=20&page=",
    "gallery": "/api/v1/images?page_size=20&page=",
}
SCRIPT = """-- Cycles the page numbers 1..{pages} (each wrk thread on its own).
local page = 0
request = function()
  page = page % {pages} + 1
  return wrk.format(nil, "{path}" .. page)
end
"""


def wrk(url: str, *, script: Path | None = None, seconds: int = 4, connections: int = 50) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 30).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url}")
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50_ms": float(p50.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p50.group(2)]}


def seed(stack: Stack, tasks: int) -> float:
    """The lists' data, seeded by benchmarks/lists.py into the stack's own database (or copied from
    BENCH_LISTS_DB, a database seeded before, for quick re-runs)."""
    started = time.perf_counter()
    prepared = os.environ.get("BENCH_LISTS_DB")
    if prepared:
        shutil.copy(prepared, stack.data_dir / "db.sqlite3")
        stack.manage("migrate", "--noinput", "-v", "0")
    else:
        env = {**stack.env, "IMAGEGEN_BENCH_LISTS_DIR": str(stack.data_dir), "BENCH_LISTS_TASKS": str(tasks)}
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lists.py"), "--seed-only"], cwd=ROOT, env=env,
                       check=True, timeout=1200, capture_output=True)
    return time.perf_counter() - started


def bench_list_load(tmp: Path, fast: dict, rounds: int = 5, tasks: int = 100_000) -> dict:
    stack = Stack(tmp / "list-load", **fast)
    try:
        seconds = seed(stack, tasks)
        stack.start_web()
        task_id = stack.query("SELECT task_id FROM tasks WHERE status = 'completed' ORDER BY id DESC LIMIT 1")[0][0]
        base = f"http://127.0.0.1:{stack.port}"
        scripts = {}
        for name, path in LISTS.items():
            scripts[name] = tmp / f"pages-{name}.lua"
            scripts[name].write_text(SCRIPT.format(pages=PAGES, path=path))
        sizes = {"task": len(json.dumps(stack.task(task_id), ensure_ascii=False).encode())}
        for name, path in LISTS.items():
            status, body = stack.request("GET", path + "1")
            assert status == 200 and len(body["results"]) == 20, (name, status)
            sizes[name] = len(json.dumps(body, ensure_ascii=False).encode())
        runs = {"task": (f"{base}/api/v1/task/{task_id}", None), **{n: (base, scripts[n]) for n in LISTS}}
        for url, script in runs.values():
            wrk(url, script=script, seconds=2)  # warm-up
        pid = stack.procs["web"].pid
        measured: dict[str, list[dict]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, (url, script) in runs.items():
                before = cpu_seconds(pid)
                result = wrk(url, script=script)
                result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(1, result["requests"])
                measured[name].append(result)
        out = {"tasks": tasks, "seed_seconds": round(seconds), "rounds": rounds, "bytes": sizes, "endpoints": {},
               "copied": bool(os.environ.get("BENCH_LISTS_DB"))}
        for name, results in measured.items():
            entry = {"rps": round(median(r["rps"] for r in results)), "each": [round(r["rps"]) for r in results],
                     "cpu_ms": round(median(r["cpu_ms"] for r in results), 2),
                     "p50_ms": round(median(r["p50_ms"] for r in results), 1)}
            if name != "task":
                ratios = [r["rps"] / t["rps"] for r, t in zip(results, measured["task"])]
                entry["ratio"] = round(median(ratios), 3)
                entry["ratios"] = [round(x, 2) for x in ratios]
                entry["pass"] = entry["ratio"] >= TARGET
            out["endpoints"][name] = entry
        out["pass"] = all(e.get("pass", True) for e in out["endpoints"].values())
        return out
    finally:
        stack.close()


def lines(info: str, x: dict) -> list[str]:
    e = x["endpoints"]
    out = [HEADING, "",
           f"Measured {info}. {x['tasks']:,} tasks (`benchmarks/lists.py`'s data: 95 % completed with two images,",
           "a tag on every third image" + ("; copied from a database it seeded before, BENCH_LISTS_DB" if x.get("copied")
                                           else "") + ") behind the server `make run` starts (2 workers); `wrk -t2 -c50 -d4s`, in",
           f"each of {x['rounds']} rounds the task read and then each list, 20 items a page, pages 1–{PAGES} cycled by a",
           "Lua script. A list's ratio is its req/s over the task read's in the same round, median of the rounds;",
           "CPU per request is the server processes' CPU time (/proc) over the round's requests, median of the rounds.",
           f"Target: ratio >= {TARGET} (a 20-item page costs no more than 4 single reads).", "",
           "| endpoint | body | req/s (median) | each round | p50 | CPU per request | x task read | target |",
           "|---|---:|---:|---|---:|---:|---:|---|"]
    paths = {"task": "`GET /api/v1/task/{id}`", "history": "`/api/v1/history`", "tasks": "`/api/v1/tasks`",
             "gallery": "`/api/v1/images`"}
    for name, entry in e.items():
        ratio = f"{entry['ratio']:.2f}" if "ratio" in entry else "1"
        verdict = ("pass" if entry["pass"] else "**FAIL**") if "pass" in entry else "reference"
        out.append(f"| {paths[name]} | {x['bytes'][name]:,} B | {entry['rps']} | {', '.join(map(str, entry['each']))} | "
                   f"{entry['p50_ms']} ms | {entry['cpu_ms']:.2f} ms | {ratio} | {verdict} |")
    out += ["", f"Lists against the task read: **{'met' if x['pass'] else 'NOT met'}**.", ""]
    return out


def write_section(info: str, x: dict, path: Path) -> None:
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "\n".join(lines(info, x))
    pattern = re.compile(re.escape(HEADING) + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda m: section.rstrip() + "\n", old)
    elif "\n## 4. " in old:
        new = old.replace("\n## 4. ", "\n" + section + "\n## 4. ", 1)
    else:
        new = old + "\n" + section
    path.write_text(new)


if __name__ == "__main__":
    from run import FAST

    if not shutil.which("wrk"):
        sys.exit("the list-load benchmark needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="imagegen-bench-") as tmp:
        setup_django(Path(tmp))
        result = bench_list_load(Path(tmp), FAST, rounds=int(os.environ.get("BENCH_ROUNDS", "5")))
    print(json.dumps(result, indent=1))
    write_section(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (`benchmarks/list_load.py`) on {machine()}",
                  result, ROOT / "BENCHMARKS.md")
