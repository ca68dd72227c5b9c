"""Sign-in outcomes into the audit log, through Django's own signals (beside the sign-in limit, not in it)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

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
