"""Worker supervision (issue 15): how long from a wedged cluster to the next completed task, and the figures
the stall window IMAGEGEN_STALL_SECONDS was chosen from. Default settings, the embedded profile (SQLite,
ORM broker), `manage.py serve --no-web` as the supervisor. Prints JSON; BENCHMARKS.md quotes one run.

    .venv/bin/python benchmarks/wedge.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.cluster import health_worker, start_supervisor, wait_complete_tree  # noqa: E402
from tests.faults.harness import sigkill  # noqa: E402
from tests.stack import Stack  # noqa: E402


def statuses(stack: Stack, ids) -> dict:
    rows = stack.statuses()
    return {t: rows.get(t) for t in ids}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--burst", type=int, default=40)
    args = parser.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-wedge-") as tmp:
        stack = Stack(Path(tmp) / "data", IMAGEGEN_PREVIEW_LATENCY=0.5, IMAGEGEN_REDELIVERY_SECONDS=60,
                      LOG_LEVEL="WARNING")
        try:
            stack.start_web()
            supervisor = start_supervisor(stack)
            wait_complete_tree(stack, supervisor.pid)

            # A. Healthy cluster under a burst: the oldest deliverable message's age (it grows with the
            # backlog, so age alone cannot tell a stall), the longest gap between heartbeats (takes and
            # finishes), which the stall window must stay well above, and whether a stall was ever reported.
            started = time.monotonic()
            ids = [stack.generate(prompt=f"burst {i}", width=512, height=512) for i in range(args.burst)]
            waiting, gaps, reported = [], [], 0
            while any(s not in ("completed", "failed") for s in statuses(stack, ids).values()):
                _status, worker = health_worker(stack)
                waiting.append(worker["oldest_waiting_seconds"] or 0.0)
                reported += bool(worker["stalled"])
                if worker["last_heartbeat_seconds"] is not None:
                    gaps.append(worker["last_heartbeat_seconds"])
                time.sleep(0.2)
            out["burst"] = {
                "tasks": args.burst,
                "seconds": round(time.monotonic() - started, 1),
                "max_oldest_waiting_s": max(waiting, default=0.0),
                "stalls_reported": reported,
                "max_gap_between_heartbeats_s": round(max(gaps, default=0.0), 1),
            }

            # B. Wedges: kill every leaf of the idle cluster, submit, time the next completed task.
            rounds = []
            for n in range(args.rounds):
                tree = wait_complete_tree(stack, supervisor.pid)
                stack.wait_for(lambda: health_worker(stack)[0] == "ok", timeout=60, what="health ok")
                time.sleep(1.0)
                restarts = health_worker(stack)[1]["restarts"]
                for pid in tree.leaves:
                    sigkill(pid)
                wedged = time.monotonic()
                ids = [stack.generate(prompt=f"wedge {n} {i}", width=512, height=512) for i in range(5)]
                not_ok = rec_start = rec_end = None
                done_first = None
                while True:
                    status, worker = health_worker(stack)
                    now = time.monotonic() - wedged
                    if not_ok is None and status != "ok":
                        not_ok = now
                    if rec_start is None and worker["recovering"]:
                        rec_start = now
                    if rec_start is not None and rec_end is None and not worker["recovering"]:
                        rec_end = now
                    states = statuses(stack, ids)
                    if done_first is None and "completed" in states.values():
                        done_first = now
                    if all(s == "completed" for s in states.values()):
                        break
                    if now > 180:
                        raise SystemExit(f"round {n}: not finished after 180 s: {states}")
                    time.sleep(0.2)
                rounds.append({
                    "health_not_ok_after_s": round(not_ok, 1) if not_ok is not None else None,
                    "next_completed_task_after_s": round(done_first, 1),
                    "all_five_completed_after_s": round(now, 1),
                    "restarts_added": health_worker(stack)[1]["restarts"] - restarts,
                    # from the replacement (seen as "recovering") to the new cluster's first take
                    "replacement_to_first_take_s": round(rec_end - rec_start, 1) if rec_start and rec_end else None,
                })
            out["wedges"] = rounds
        finally:
            stack.close()
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
