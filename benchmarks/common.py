"""Shared pieces of the benchmarks: the real app as processes (tests/stack.py), timing and statistics."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import Stack  # noqa: E402

__all__ = ["ROOT", "Stack", "percentile", "rss_kb", "children", "cpu_seconds", "now", "setup_django"]

now = time.perf_counter


def setup_django(tmp: Path) -> None:
    """Django set up in the runner itself (with a data directory of its own under `tmp`): Stack.start_web
    asks the serve command for the web server's command line, which imports the app's models."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagegen.settings")
    os.environ.setdefault("IMAGEGEN_DATA_DIR", str(tmp / "runner"))
    django.setup()


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            found.append(kid)
            frontier.append(kid)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants (a server's worker processes), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def machine() -> str:
    import platform

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, "
            f"load average at start {load[0]:.2f}")
