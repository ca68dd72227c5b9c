"""Test overrides: the one settings module, plus what a test run needs to be fast and isolated."""

import os
import tempfile

# Each test run gets its own data directory unless the caller chose one.
os.environ.setdefault("IMAGEGEN_DATA_DIR", tempfile.mkdtemp(prefix="imagegen-test-"))
os.environ.setdefault("IMAGEGEN_PREVIEW_LATENCY", "0")
os.environ.setdefault("IMAGEGEN_ENGINE", "preview")
# Time as a setting: no test sleeps for a retry policy. The policy itself is tested with the fake clock
# (tests/conftest.py `fake_clock`), which moves time forward instead of sleeping. In the environment, so
# the real processes tests start wait briefly too.
os.environ.setdefault("IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY", "0.05")
for _name in ("VOLC_ACCESSKEY", "VOLC_SECRETKEY", "ARK_API_KEY", "ARK_BASE_URL", "DATABASE_URL", "CACHE_URL", "IMAGEGEN_BROKER", "IMAGEGEN_ACCESS"):
    os.environ.pop(_name, None)
# A distinctive key, in the environment so the real processes tests start get it too: tests/secrets_guard.py
# fails any test during which it shows up in a response or a log.
os.environ["SECRET_KEY"] = "imagegen-test-sentinel-SECRET_KEY-never-shown"

from imagegen.settings import *  # noqa: E402,F403

# What manage.py, wsgi.py and asgi.py do before Django is set up (imagegen/startup.py); pytest-django sets
# Django up itself.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(IMAGEGEN_METRICS_DIR))  # noqa: F405

# Django's test client calls itself "testserver" (no longer in the default ALLOWED_HOSTS).
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Outermost, so it sees every final response (error pages included); see tests/secrets_guard.py.
MIDDLEWARE = ["tests.secrets_guard.SecretsGuardMiddleware", *MIDDLEWARE]  # noqa: F405
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns when it is missing)
# Generous request rates: a test about rate limits sets its own, or restores the documented defaults
# (IMAGEGEN_DEFAULT_RATES; tests/conftest.py's `default_rates` fixture).
IMAGEGEN_CREATE_RATE = "100000/m"
IMAGEGEN_EDIT_RATE = "100000/m"
IMAGEGEN_READ_RATE = "100000/m"
IMAGEGEN_LOGIN_RATE = "100000/m"
# Audit events written in the request, so that a test reads them at once.
IMAGEGEN_AUDIT_FLUSH_SECONDS = 0
