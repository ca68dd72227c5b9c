"""Sign-in outcomes into the audit log, through Django's own signals (beside the sign-in limit, not in it);
and the operator commands, through core.operator's."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from core.operator import command_done

from .models import AuditKind
from .services import audit_record


@receiver(user_logged_in)
def record_sign_in(sender, request, user, **kwargs):
    if request is not None:
        request.audit_skip = True  # this event stands for the request
        audit_record(AuditKind.SIGN_IN, request=request, status=200, user=user, username=user.get_username())


@receiver(user_logged_out)
def record_sign_out(sender, request, user, **kwargs):
    if request is not None and user is not None:
        request.audit_skip = True
        audit_record(AuditKind.SIGN_OUT, request=request, status=200, user=user, username=user.get_username())


@receiver(user_login_failed)
def record_failed_sign_in(sender, credentials, request=None, **kwargs):
    # credentials are cleansed by Django (the password is replaced); only the tried name is kept.
    if request is not None:
        request.audit_skip = True
        name = str(credentials.get("username", ""))[:150]
        audit_record(AuditKind.SIGN_IN_FAILED, request=request, status=401, user=None, username=name)


@receiver(command_done)
def record_operator_command(sender, object_id="", **kwargs):
    """A staff action run from the command line: the command is the client id (the operator's shell has no
    user of the app). Written at once: a command may end, or replace the database, right after."""
    audit_record(AuditKind.STAFF, user=None, username="", client_id=f"manage.py {sender}"[:100], object_id=object_id,
                 at_once=True)
