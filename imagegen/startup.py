"""What every process of the product does once Django is set up (ImagegenConfig.ready): manage.py and its
commands, gunicorn's and uvicorn's workers, the qcluster. Settings only read the environment; the writes are
here.

- umask 027 before anything is written: nothing under the data directory is readable by other users.
- The data, log and metrics directories exist.
- Before that, before Django is set up, the entry points (manage.py, imagegen/wsgi.py, imagegen/asgi.py) call
  `point_counters_at_the_metrics_dir`: prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is first
  imported, and django-q2 imports it while the apps load. The counters of every process on this machine then
  meet in that directory.
- Files an older version left readable by everyone (0644 database, images, logs, backups) lose "other"'s
  access, once per data directory.
"""

from __future__ import annotations

import os

from django.conf import settings

from imagegen import hardening


def point_counters_at_the_metrics_dir() -> None:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.IMAGEGEN_METRICS_DIR))


def prepare() -> None:
    hardening.restrict_umask()
    for directory in (settings.DATA_DIR, settings.LOG_DIR, settings.IMAGEGEN_METRICS_DIR):
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    hardening.tighten(*hardening.outermost(settings.DATA_DIR, settings.MEDIA_ROOT, settings.IMAGEGEN_BACKUP_DIR))
