"""Loading settings only reads the environment; the writes of start-up (umask, directories, the metrics
directory's variable, tightening old files) happen when Django is set up (imagegen/startup.py). The secret
key is the one exception: settings generate it into the data directory when the environment gives none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETTINGS_ONLY = """
import importlib, json, os
settings_module = importlib.import_module("imagegen.settings")
umask_now = os.umask(0o022)
print(json.dumps({"data_dir": settings_module.DATA_DIR.exists(),
                  "metrics_env": "PROMETHEUS_MULTIPROC_DIR" in os.environ, "umask": oct(umask_now)}))
"""

# Run by `manage.py shell -c`, the way every command starts.
AFTER_SET_UP = """
import json, os, stat
import core.metrics, prometheus_client.values
from django.conf import settings
data = settings.DATA_DIR
umask_now = os.umask(0o022); os.umask(umask_now)
print(json.dumps({
    "umask": oct(umask_now),
    "dirs": {name: oct(stat.S_IMODE((data / name).stat().st_mode)) if (data / name).exists() else None
             for name in ("", "logs", "metrics")},
    "metrics_env": os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
    "value_class": prometheus_client.values.ValueClass.__name__,
}))
"""


def _probe(data_dir: Path, code: str, **extra) -> dict:
    env = {**os.environ, "IMAGEGEN_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "imagegen.settings",
           "LOG_LEVEL": "WARNING", **extra}
    for name in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL", "SECRET_KEY"):
        env.pop(name, None)
    env.update(extra)
    command = [sys.executable, "-c", code] if code is SETTINGS_ONLY else [sys.executable, "manage.py", "shell", "-c", code]
    # umask 022, as a login shell has it: start-up must tighten it.
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_settings_writes_nothing_when_the_environment_gives_the_secret_key(tmp_path):
    data = tmp_path / "data"
    state = _probe(data, SETTINGS_ONLY, SECRET_KEY="from-the-environment-" + "x" * 40)
    assert state == {"data_dir": False, "metrics_env": False, "umask": "0o22"}


def test_django_set_up_makes_the_directories_private_and_points_the_counters_at_one_directory(tmp_path):
    data = tmp_path / "data"
    state = _probe(data, AFTER_SET_UP, SECRET_KEY="from-the-environment-" + "x" * 40)
    assert state["umask"] == "0o27"
    assert state["dirs"] == {"": "0o750", "logs": "0o750", "metrics": "0o750"}
    assert state["metrics_env"] == str(data / "metrics")
    # prometheus_client chose its multiprocess value class: the variable was set before it was imported.
    assert "Mmap" in state["value_class"] or "MultiProcess" in state["value_class"], state["value_class"]


def test_without_a_secret_key_settings_generate_one_privately_and_keep_it(tmp_path):
    data = tmp_path / "data"
    state = _probe(data, SETTINGS_ONLY)
    assert state["data_dir"] is True  # the key file's directory, and nothing else
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"]
    key_file = data / "secret_key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = key_file.read_text()
    _probe(data, SETTINGS_ONLY)
    assert key_file.read_text() == first
