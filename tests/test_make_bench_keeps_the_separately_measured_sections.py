"""`make bench` rewrites BENCHMARKS.md from its own run, and keeps the sections measured by their own scripts:
the staff console's, worker supervision's and the audit log's cost on the create path (issue 18, item 1's
"≤ 5 %" row). It kept only the first of them."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_section_the_run_does_not_write_survives_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.delitem(sys.modules, "report", raising=False)
    from report import write_report

    path = tmp_path / "BENCHMARKS.md"
    real = (ROOT / "BENCHMARKS.md").read_text()
    path.write_text(real)
    write_report({"date": "2026-12-06 05:00 UTC", "seconds": 1, "machine": "test"}, {}, path)
    written = path.read_text()
    for title in ("## Staff console", "## Worker supervision", "## Audit log"):
        section = real[real.index(title):]
        section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
        assert section.strip() in written, title
    assert "## 1. Upstream quota saturation" not in written  # the run's own sections come from the run
    assert written.count("## Findings") == 1
