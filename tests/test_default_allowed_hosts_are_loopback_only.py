"""The "info" row: the default ALLOWED_HOSTS is loopback only. Django's test client calls itself
"testserver", and only the test settings add that name; the product's settings, as every process an
operator starts loads them, do not."""

from __future__ import annotations

import json
import subprocess
import sys

from .test_secure_by_default import ROOT, env_for


def test_the_products_settings_allow_loopback_names_only(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "import json; from django.conf import settings; "
         "print(json.dumps(settings.ALLOWED_HOSTS))"],
        cwd=ROOT, env=env_for(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == ["127.0.0.1", "localhost", "[::1]"]
