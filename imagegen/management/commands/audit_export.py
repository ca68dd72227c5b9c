"""manage.py audit_export: the access audit log as JSON Lines (one event per line, oldest first)."""

from __future__ import annotations

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.audit.selectors import audit_events
from accounts.audit.services import audit_event_json
from core.operator import operator_command_done


def _moment(text: str, *, end: bool = False) -> datetime:
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(f"not a date or date-time: {text!r} (use 2026-12-01 or 2026-12-01T08:00:00Z)")
        parsed = datetime.combine(day, time.max if end else time.min)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.get_current_timezone())


class Command(BaseCommand):
    help = ("Write the access audit log as JSON Lines (standard output, or --output FILE): who, from where, "
            "what, outcome and when; never bodies or secrets.")

    def add_arguments(self, parser):
        parser.add_argument("--since", help="From this date or date-time (inclusive).")
        parser.add_argument("--until", help="Up to this date (the whole day) or date-time (inclusive).")
        parser.add_argument("--user", help="Only this user name.")
        parser.add_argument("--kind", help="Only this kind (request, sign_in, sign_in_failed, token_created, ...).")
        parser.add_argument("--output", "-o", help="A file to write (created 0600); default standard output.")

    def handle(self, *args, **opts):
        events = audit_events(
            since=_moment(opts["since"]) if opts["since"] else None,
            until=_moment(opts["until"], end=True) if opts["until"] else None,
            username=opts["user"], kind=opts["kind"],
        )
        if opts["output"]:
            import os

            fd = os.open(opts["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            out = os.fdopen(fd, "w", encoding="utf-8")
        else:
            out = self.stdout._out  # the lines as they are (tests give a StringIO here)
        count = 0
        try:
            for event in events.iterator(chunk_size=2000):
                out.write(audit_event_json(event) + "\n")
                count += 1
        finally:
            if opts["output"]:
                out.close()
        operator_command_done("audit_export", object_id=f"{count} events")
        if opts["output"]:
            self.stderr.write(f"{count} events written to {opts['output']}")
