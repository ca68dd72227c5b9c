"""Operator commands (`manage.py cleanup`, `backup`, `adduser`, ...) say what they did, so that the audit log
(accounts.audit, above this floor) records them as staff actions without the apps importing it."""

from __future__ import annotations

from django.dispatch import Signal

# sender: the command's name; object_id: what it acted on (a user, an archive's name, a count), never a secret.
command_done = Signal()


def operator_command_done(command: str, *, object_id: str = "") -> None:
    """Announce that `manage.py <command>` changed something or read people's data."""
    command_done.send(sender=command, object_id=str(object_id))
