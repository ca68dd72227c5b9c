"""pytest-timeout bounds every test: a hung fast test fails after FAST_TEST_TIMEOUT, a slow one after
pytest.ini's `timeout`, with the stack of where it hung."""

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FAST_TEST_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent


def test_every_collected_test_has_a_timeout(request):
    session_items = request.session.items
    assert session_items
    ini = float(request.config.getini("timeout"))
    assert ini == 600
    for item in session_items:
        marker = item.get_closest_marker("timeout")
        if {m.name for m in item.iter_markers()} & {"processes", "browser", "faults"}:
            assert marker is None or marker.args[0] <= ini, item.nodeid
        else:
            assert marker is not None and marker.args[0] <= FAST_TEST_TIMEOUT, item.nodeid


@pytest.mark.processes  # a pytest run of its own
def test_a_hung_test_fails_at_its_timeout_with_its_stack(tmp_path):
    hung = tmp_path / "test_hung.py"
    hung.write_text("import time\n\n\ndef test_hangs():\n    time.sleep(60)\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pytest.ini"),
         "-o", "timeout=1", "--rootdir", str(tmp_path), str(hung)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "Timeout" in done.stdout and "time.sleep(60)" in done.stdout
