"""The import contracts of .importlinter hold (the layers: imagegen > streaming > gallery | history > generation >
accounts > core;
core imports no project package; only the VolcEngine engine module imports the volcengine SDK; django-q2
only in generation/broker.py, the task entry points and the cluster supervision), and a deliberate
violation breaks them: the check is run on a copy of the packages with violations planted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "core", "generation", "gallery", "history", "imagegen", "streaming")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    command = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(command) if command.exists() else "lint-imports", "--no-cache", "--config", str(cwd / ".importlinter")],
        cwd=cwd, capture_output=True, text=True, timeout=90,
        env={**os.environ, "COLUMNS": "250"},  # no contract name wrapped over two lines
    )


def copy_of_the_project(destination: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, destination / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "*.pyc"))
    shutil.copy(ROOT / ".importlinter", destination / ".importlinter")
    return destination


def plant(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_contracts_hold():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_unchanged_copy_passes_so_the_planted_checks_below_mean_something(tmp_path):
    done = lint_imports(copy_of_the_project(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


LAYERS = "Layers: imagegen (roof) > streaming > gallery | history > generation > accounts > core (floor)"
FLOOR = "core imports no project package"
VENDOR = "Only the VolcEngine engine module imports the volcengine SDK"
QUEUE = "django-q2 only in the broker module, the task entry points and the cluster supervision"


@pytest.mark.parametrize("plants, broken, kept, reported", [
    pytest.param([("history/services.py", "from imagegen import urls"),
                  ("generation/models.py", "from history import selectors")],
                 LAYERS, FLOOR, ["history.services -> imagegen.urls", "generation.models -> history.selectors"],
                 id="a domain app importing upward"),
    pytest.param([("accounts/services.py", "from generation import models"),
                  ("generation/selectors.py", "from streaming import watcher")],
                 LAYERS, FLOOR, ["accounts.services -> generation.models", "generation.selectors -> streaming.watcher"],
                 id="accounts or generation importing upward"),
    pytest.param([("gallery/selectors.py", "from history import selectors")],
                 LAYERS, FLOOR, ["gallery.selectors -> history.selectors"],
                 id="gallery and history importing each other"),
    pytest.param([("core/errors.py", "def later():\n    from generation import models")],
                 FLOOR, VENDOR, ["core.errors -> generation.models"],
                 id="core importing a project package, inside a function"),
    pytest.param([("generation/services.py", "import volcengine")],
                 VENDOR, FLOOR, ["generation.services -> volcengine"],
                 id="the SDK imported outside the engine module"),
    pytest.param([("gallery/services.py", "from django_q.tasks import async_task")],
                 QUEUE, LAYERS, ["gallery.services -> django_q"],
                 id="django-q2 imported outside the broker module"),
])
def test_a_planted_violation_breaks_its_contract(tmp_path, plants, broken, kept, reported):
    project = copy_of_the_project(tmp_path)
    for path, line in plants:
        plant(project / path, line + "  # planted")
    done = lint_imports(project)
    assert done.returncode != 0
    assert f"{broken} BROKEN" in done.stdout
    assert f"{kept} KEPT" in done.stdout
    for line in reported:
        assert line in done.stdout


def test_an_ignored_import_that_no_longer_exists_fails_the_check(tmp_path):
    """The list of upward imports still allowed cannot go stale: once one is removed from the code, its
    entry in .importlinter must go too."""
    project = copy_of_the_project(tmp_path)
    config = project / ".importlinter"
    config.write_text(config.read_text().replace(
        "ignore_imports =\n", "ignore_imports =\n    history.apis -> imagegen.urls\n", 1))
    done = lint_imports(project)
    assert done.returncode != 0
    assert "history.apis -> imagegen.urls" in done.stdout + done.stderr
