"""Logging helpers: the current task id on every record a worker logs, and an optional JSON format."""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

current_task_id: contextvars.ContextVar[str] = contextvars.ContextVar("current_task_id", default="")


class TaskContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "task_id", ""):
            record.task_id = current_task_id.get()
        return True


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
