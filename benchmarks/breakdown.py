"""Where one run's time goes (preview engine at zero latency, 512×512), profiled in one process: prints
one JSON line of milliseconds per task by part."""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(IMAGEGEN_DATA_DIR=tempfile.mkdtemp(prefix="imagegen-breakdown-"), IMAGEGEN_PREVIEW_LATENCY="0",
                  IMAGEGEN_MAX_UNFINISHED_PER_CLIENT="100000", LOG_LEVEL="WARNING",
                  DJANGO_SETTINGS_MODULE="imagegen.settings")

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402

from generation import run, services  # noqa: E402
from generation.planning import plan_generation  # noqa: E402

PARTS = {
    "engine (preview render + PNG)": ("generation/engines/preview.py", "generate"),
    "image check": ("generation/imaging.py", "inspect_image"),
    "thumbnail": ("generation/imaging.py", "make_thumbnail"),
    "file writes": ("generation/storage.py", "_save"),
    "database": ("django/db/backends/utils.py", "_execute"),
}


def main(count: int = 40) -> None:
    call_command("migrate", verbosity=0)
    plan = plan_generation({"prompt": "breakdown", "model": "high_aes_general_v30l_zt2i", "width": 512, "height": 512})
    ids = [services.task_create(plan=plan, client_id="bench")[0].task_id for _ in range(count + 1)]
    run.task_run(task_id=ids[0])  # warm-up
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for task_id in ids[1:]:
        run.task_run(task_id=task_id)
    profile.disable()
    total = (time.perf_counter() - started) / count * 1000
    stats = pstats.Stats(profile).stats
    out = {"total_ms": round(total, 1)}
    for label, (path, func) in PARTS.items():
        cumulative = sum(v[3] for (file, _line, name), v in stats.items() if file.endswith(path) and name == func)
        out[label] = round(cumulative / count * 1000, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
