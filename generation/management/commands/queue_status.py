"""manage.py queue_status: the queue at a glance, for operators and monitoring scripts."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from generation import maintenance


def age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Command(BaseCommand):
    help = (
        "Report the queue: pending, running and retrying tasks, failures and completions in the last hour, "
        "the age of the oldest pending task, queued broker messages, the workers seen and the worker "
        "cluster's stall signal. With --max-pending-age it exits 1 when the oldest pending task is older; "
        "with --check-worker it exits 1 while the worker cluster is stalled (for monitoring)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument("--max-pending-age", type=float, metavar="SECONDS",
                            help="Exit with status 1 when the oldest pending task waited longer than this.")

        parser.add_argument("--check-worker", action="store_true",
                            help="Exit with status 1 while work waits and no worker takes it (a stalled cluster).")

    def handle(self, *args, **opts):
        try:
            status = maintenance.queue_status()
        except Exception as err:  # the database or broker is unreachable: say so, exit non-zero
            raise CommandError(f"cannot read the queue: {type(err).__name__}: {err}") from err
        if opts["json"]:
            self.stdout.write(json.dumps(status, indent=1))
        else:
            rows = [
                ("pending", status["pending"]),
                ("running", status["running"]),
                ("retrying", status["retrying"]),
                ("failed in the last hour", status["failed_last_hour"]),
                ("completed in the last hour", status["completed_last_hour"]),
                ("oldest pending", age(status["oldest_pending_seconds"])),
                ("queued messages", status["queued_messages"]),
                ("clusters seen", status["clusters"]),
                ("workers seen", status["workers"]),
                ("oldest waiting message", age(status["worker"]["oldest_waiting_seconds"])),
                ("last worker heartbeat", age(status["worker"]["last_heartbeat_seconds"])),
                ("cluster restarts", status["worker"]["restarts"]),
                ("worker cluster", "STALLED" if status["worker"]["stalled"]
                 else "recovering" if status["worker"]["recovering"] else "ok"),
            ]
            width = max(len(label) for label, _ in rows)
            for label, value in rows:
                self.stdout.write(f"{label:<{width}}  {value}")
            if not status["workers"]:
                self.stdout.write(self.style.WARNING(
                    "no worker has reported recently: start one (make run, or manage.py qcluster)"))
        if opts["check_worker"] and (status["worker"]["stalled"] or status["worker"]["recovering"]):
            raise CommandError(
                f"the worker cluster is {'stalled' if status['worker']['stalled'] else 'being replaced'}: a message "
                f"has waited {age(status['worker']['oldest_waiting_seconds'])} and no worker takes it")
        limit = opts["max_pending_age"]
        oldest = status["oldest_pending_seconds"]
        if limit is not None and oldest is not None and oldest > limit:
            raise CommandError(f"the oldest pending task has waited {age(oldest)} (limit {age(limit)})")
