"""Logging helpers: the current task id on every record a worker logs, and an optional JSON format."""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import re
from datetime import UTC, datetime
from pathlib import Path

from django.views.debug import SafeExceptionReporterFilter

current_task_id: contextvars.ContextVar[str] = contextvars.ContextVar("current_task_id", default="")


class TaskContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "task_id", ""):
            record.task_id = current_task_id.get()
        return True


class QueueChatterFilter(logging.Filter):
    """Keeps django-q2's warnings and its cluster's start and stop lines, drops its other INFO lines.

    Those are one per scheduled run (every 15 s on an idle `make run`), per task and per process start; the
    start and stop lines are what an operator (and the worker tests) look for after a restart.
    """

    LIFECYCLE = frozenset({"start", "stop"})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or (record.module == "cluster" and record.funcName in self.LIFECYCLE)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process, message, task_id, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        for key in ("task_id", "upstream_request_id"):
            if getattr(record, key, ""):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@", re.IGNORECASE)


class SecretSafeReporterFilter(SafeExceptionReporterFilter):
    """Error reports (the DEBUG page, the e-mail to ADMINS) without secrets. Django hides settings whose
    names say KEY, TOKEN, PASS...; a password inside a URL (IMAGEGEN_BROKER, Q_CLUSTER's redis, a cache
    LOCATION) has no such name, so it is hidden wherever it appears."""

    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        if isinstance(value, str):
            value = _URL_PASSWORD.sub(lambda m: m["head"] + self.cleansed_substitute + "@", value)
        return value


class RotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Makes the log file's directory when it first writes (with delay=True: at the first record), so that
    loading settings creates nothing."""

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def logging_config(*, level: str, log_format: str, log_file: Path, queue_level: str, access_level: str) -> dict:
    """Django's LOGGING: the console and a rotating file (created, with its directory, at the first record),
    task ids on every record, plain or JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"task": {"()": "core.logs.TaskContextFilter"},
                    "queue_chatter": {"()": "core.logs.QueueChatterFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
            "json": {"()": "core.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["task"]},
            "file": {
                "class": "core.logs.RotatingFileHandler",
                "filename": str(log_file),
                "maxBytes": 10 * 1024 * 1024,
                "backupCount": 5,
                "formatter": log_format,
                "filters": ["task"],
                "delay": True,
            },
        },
        "root": {"handlers": ["console", "file"], "level": level},
        "loggers": {
            # django-q2's logger is "django-q". At INFO it writes a line per scheduled run, task and process start,
            # which would fill the terminal of an idle `make run`: only the cluster's start and stop lines pass.
            # Q_LOG_LEVEL=DEBUG shows everything; WARNING hides the start and stop lines too.
            "django-q": {"level": queue_level, "propagate": True,
                         "filters": [] if queue_level == "DEBUG" else ["queue_chatter"]},
            # One line per request on the console (accounts/audit/middleware.py); IMAGEGEN_ACCESS_LOG=WARNING hides them.
            # Successful reads of image files and thumbnails are left out unless IMAGEGEN_ACCESS_LOG_ASSETS=true.
            "imagegen.access": {"handlers": ["console"], "propagate": False,
                                "level": access_level},
        },
    }
