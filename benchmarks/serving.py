"""The serving design, measured (`benchmarks/serving.py`, or `benchmarks/run.py --only serving`).

One address for pages, API, WebSocket and event streams. Every candidate serves the same app with the same
worker count (2 processes), started side by side, and the read path (`GET /api/v1/task/{id}`, wrk, 50
connections) is measured in rounds that alternate the candidates, against today's gunicorn (gthread, 2 x 4):

- gunicorn: today's read path (WSGI only: no WebSocket on this port);
- django-asgi: uvicorn serving Django's own ASGI handler for everything;
- asgi-front (h11): uvicorn serving imagegen.asgi (stream paths to ASGI, the rest to WSGI on a thread pool),
  with uvicorn's pure-Python HTTP parser and asyncio's loop;
- asgi-front (httptools): the same with httptools and uvloop (uvicorn picks them when installed);
- granian: granian's ASGI interface serving imagegen.asgi;
- nginx proxy: nginx on the one port, routing the stream paths to uvicorn and the rest to gunicorn.

Then, on the chosen design, the read path with 500 idle WebSockets held on the same port (each subscribed to
a waiting task), against the same server without them, in alternating rounds."""

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
from common import ROOT, Stack, cpu_seconds, machine, rss_kb  # noqa: E402

from tests.stack import free_port  # noqa: E402

SOCKETS = 500
HEADING = "## 7. Serving: one address for pages, API, WebSocket and event streams"
CHOSEN = "asgi-front (httptools)"


def wrk(url: str, seconds: int = 4, connections: int = 50) -> float:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


NGINX = """daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  upstream web {{ server 127.0.0.1:{web}; keepalive 32; }}
  upstream stream {{ server 127.0.0.1:{stream}; }}
  server {{
    listen 127.0.0.1:{port};
    location = /api/v1/generate/stream {{ proxy_pass http://stream; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_read_timeout 1h; }}
    location ~ ^/api/v1/task/[^/]+/events$ {{ proxy_pass http://stream; proxy_buffering off; }}
    location / {{ proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $http_host; }}
  }}
}}
"""


def start_candidates(stack: Stack, tmp: Path) -> dict[str, int]:
    py = sys.executable
    ports = {}

    def spawn(name, cmd):
        port = free_port()
        stack._spawn(name, [part.replace("PORT", str(port)) for part in cmd])
        ports[name] = port

    spawn("gunicorn", [py, "-m", "gunicorn", "imagegen.wsgi:application", "--bind", "127.0.0.1:PORT",
                       "--worker-class", "gthread", "--workers", "2", "--threads", "4"])
    uv = [py, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "PORT", "--workers", "2", "--no-access-log",
          "--log-level", "warning", "--no-proxy-headers"]
    spawn("django-asgi", uv + ["benchmarks.django_asgi:application"])
    spawn("asgi-front (h11)", uv + ["--http", "h11", "--loop", "asyncio", "imagegen.asgi:application"])
    spawn(CHOSEN, uv + ["--http", "httptools", "--loop", "uvloop", "imagegen.asgi:application"])
    granian = shutil.which("granian", path=str(Path(py).parent))
    if granian:
        spawn("granian", [granian, "--interface", "asgi", "--host", "127.0.0.1", "--port", "PORT", "--workers", "2",
                          "--ws", "--log-level", "warning", "imagegen.asgi:application"])
    if shutil.which("nginx"):
        # nginx in front of a gunicorn of its own and the stream on uvicorn
        web, stream, port = free_port(), free_port(), free_port()
        stack._spawn("nginx-gunicorn", [py, "-m", "gunicorn", "imagegen.wsgi:application", "--bind", f"127.0.0.1:{web}",
                                        "--worker-class", "gthread", "--workers", "2", "--threads", "4"])
        stack._spawn("nginx-stream", uv[:4] + ["--port", str(stream), "imagegen.asgi:application"])
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX.format(tmp=tmp, web=web, stream=stream, port=port))
        stack._spawn("nginx proxy", ["nginx", "-c", str(conf), "-p", str(tmp)])
        ports["nginx proxy"] = port
    for name, port in ports.items():
        stack.wait_for(lambda p=port: stack._ping(p), timeout=90, what=name)
    return ports


def bench_serving(tmp: Path, fast: dict, small: dict, rounds: int = 5) -> dict:
    from stream import HeldSockets

    stack = Stack(tmp / "serving", IMAGEGEN_PREVIEW_LATENCY="0", DJANGO_SETTINGS_MODULE="benchmarks.settings",
                  IMAGEGEN_STREAM_HEARTBEAT="5", **fast)
    stack.env["PYTHONPATH"] = str(ROOT)
    stack.env.pop("IMAGEGEN_STREAM_URL", None)
    try:
        ports = start_candidates(stack, tmp)
        stack.port = ports["gunicorn"]
        stack.start_worker()
        task_id = stack.generate(prompt="read path", **small)
        stack.wait_for(lambda: stack.task(task_id)["status"] == "completed", timeout=60, what="the task")
        stack.stop("worker")
        waiting = [stack.generate(prompt=f"waiting {n}", **small) for n in range(10)]  # no worker: they wait
        urls = {name: f"http://127.0.0.1:{port}/api/v1/task/{task_id}" for name, port in ports.items()}
        for url in urls.values():
            wrk(url, seconds=2)  # warm-up
        runs: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(rounds):
            for name, url in urls.items():
                runs[name].append(wrk(url))
        # 500 idle sockets on the chosen design's own port, alternating with none.
        chosen_url = urls[CHOSEN]
        stream_url = f"ws://127.0.0.1:{ports[CHOSEN]}/api/v1/generate/stream"
        pid = stack.procs[CHOSEN].pid
        idle_kb = sum(rss_kb(p) for p in _tree(pid))
        free, held, held_kb, pings = [], [], 0, 0
        for _ in range(rounds):
            free.append(wrk(chosen_url))
            with HeldSockets(stream_url, SOCKETS, waiting) as sockets:
                time.sleep(1)
                held.append(wrk(chosen_url))
                held_kb = max(held_kb, sum(rss_kb(p) for p in _tree(pid)))
                pings += sockets.pings
        # What the idle sockets cost by themselves: the chosen server's CPU time (/proc) over 8 s with them held
        # and no requests, against 8 s without them, per 100 sockets.
        idle_free, idle_held = [], []
        for _ in range(3):
            before = cpu_seconds(pid)
            time.sleep(8)
            idle_free.append(cpu_seconds(pid) - before)
            with HeldSockets(stream_url, SOCKETS, waiting):
                time.sleep(1)
                before = cpu_seconds(pid)
                time.sleep(8)
                idle_held.append(cpu_seconds(pid) - before)
        per_100 = (median(idle_held) - median(idle_free)) / 8 * 1000 * 100 / SOCKETS
        base = median(runs["gunicorn"])
        result = {
            "rounds": rounds,
            "candidates": {name: {"rps": round(median(r)), "each": [round(x) for x in r],
                                  "ratio": round(median(r) / base, 3)} for name, r in runs.items()},
            "chosen": CHOSEN,
            "free_rps": round(median(free)), "held_rps": round(median(held)),
            "free_each": [round(x) for x in free], "held_each": [round(x) for x in held],
            "held_ratio": round(median(held) / median(free), 3),
            "sockets": SOCKETS, "pings_during": pings,
            "idle_mb": round(idle_kb / 1024, 1), "held_mb": round(held_kb / 1024, 1),
            "idle_cpu_ms_per_s": round(median(idle_free) / 8 * 1000, 1),
            "held_cpu_ms_per_s": round(median(idle_held) / 8 * 1000, 1),
            "cpu_ms_per_s_per_100": round(per_100, 2),
        }
        result["pass"] = result["candidates"][CHOSEN]["ratio"] >= 0.90 and result["held_ratio"] >= 0.95
        return result
    finally:
        stack.close()


def _tree(pid: int) -> list[int]:
    from common import children

    return [pid, *children(pid)]


def lines(info: str, x: dict) -> list[str]:
    out = [HEADING, "",
           f"Measured {info}. Every candidate serves the same app with 2 processes; {x['rounds']} rounds alternate",
           "the candidates (wrk, 4 s, 50 connections, `GET /api/v1/task/{id}`); the figure is each one's median, the",
           "ratio is to today's gunicorn (gthread, 2 workers x 4 threads) in the same run.", "",
           "| candidate | one address for WebSocket + SSE | req/s | x gunicorn | rounds |", "| --- | --- | --- | --- | --- |"]
    for name, c in x["candidates"].items():
        one = "no (WSGI only)" if name == "gunicorn" else "yes"
        mark = " **(chosen)**" if name == x["chosen"] else ""
        out.append(f"| {name}{mark} | {one} | {c['rps']} | {c['ratio']:.2f} | {', '.join(map(str, c['each']))} |")
    out += ["",
            f"500 idle WebSockets held on the chosen server's own port (each subscribed to one of 10 waiting tasks,",
            f"heartbeats every 5 s: {x['pings_during']} pings received during the runs): read path "
            f"{x['held_rps']} req/s with them against {x['free_rps']} without, **{x['held_ratio']:.2f}x** "
            f"(rounds with: {', '.join(map(str, x['held_each']))}; without: {', '.join(map(str, x['free_each']))}).",
            f"The server's processes: {x['idle_mb']} MB idle, {x['held_mb']} MB with the sockets.",
            *([f"CPU of the idle sockets alone (no requests; the server's processes, /proc, 3 × 8 s with and without): "
               f"{x['held_cpu_ms_per_s']} ms per second with them against {x['idle_cpu_ms_per_s']} without, "
               f"**{x['cpu_ms_per_s_per_100']} ms of CPU per second per 100 idle sockets** "
               f"({x['cpu_ms_per_s_per_100'] / 10:.2f} % of a core); one heartbeat timer per process pings them all "
               "(`streaming/heartbeat.py`)."] if "cpu_ms_per_s_per_100" in x else []), "",
            f"Targets: chosen design >= 0.90x gunicorn's read path, 500 idle sockets cost <= 5%: "
            f"**{'met' if x['pass'] else 'NOT met'}**.", "",
            "Why this design: `imagegen.asgi` on uvicorn (httptools, uvloop) routes the WebSocket and the event",
            "streams to Channels and Django's ASGI handler and hands every other request to the WSGI application on",
            "a thread pool (a2wsgi), so sync views never go through `sync_to_async` (Django's own ASGI path, the",
            "`django-asgi` row, is the slow one). It meets both figures, runs every stream and graceful-stop test,",
            "and needs nothing outside the virtualenv for `make run`. granian serving the same application measured",
            "as fast or faster in some runs (see its row); it is the next step if the read path needs more, once the stream suite and",
            "graceful stop have been run on it. The nginx proxy needs nginx on every developer's machine and two",
            "servers behind it; pure-Python HTTP parsing (h11) is the margin between the two uvicorn rows.",
            "The machine is shared: the load average above and the spread of the rounds show how noisy one round",
            "is; the comparison is between medians of rounds taken turn about.", ""]
    return out


def write_section(info: str, x: dict, path: Path) -> None:
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "\n".join(lines(info, x))
    pattern = re.compile(re.escape(HEADING) + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda m: section.rstrip() + "\n", old)
    else:
        new = old.replace("\n## Findings", "\n" + section + "\n## Findings", 1) if "\n## Findings" in old else old + "\n" + section
    path.write_text(new)


if __name__ == "__main__":
    from run import FAST, SMALL

    if not shutil.which("wrk"):
        sys.exit("the serving benchmark needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        result = bench_serving(Path(tmp), FAST, SMALL, rounds=int(os.environ.get("BENCH_ROUNDS", "5")))
    print(json.dumps(result, indent=1))
    write_section(f"{time.strftime('%Y-%m-%d')} (`benchmarks/serving.py`) on {machine()}", result, ROOT / "BENCHMARKS.md")
