"""One row per audited event (registered through imagegen/models.py). Never a body, a password or a token:
only a token's prefix, which is not enough to use it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditKind(models.TextChoices):
    REQUEST = "request", _("state-changing request")
    SIGN_IN = "sign_in", _("sign-in")
    SIGN_IN_FAILED = "sign_in_failed", _("failed sign-in")
    SIGN_OUT = "sign_out", _("sign-out")
    TOKEN_CREATED = "token_created", _("token created")
    TOKEN_USED = "token_used", _("token used")
    TOKEN_REVOKED = "token_revoked", _("token revoked")
    STAFF = "staff", _("staff action")
    REFUSED = "refused", _("refused by the network allowlist")
    TWO_FACTOR = "two_factor", _("two-factor sign-in changed")
    PASSWORD_RESET = "password_reset", _("password reset")
    DATA_EXPORTED = "data_exported", _("data exported")
    ACCOUNT_ERASED = "account_erased", _("account erased")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AuditKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=_("user"), db_constraint=False)
    # Kept when the user is deleted; for a failed sign-in, the name that was tried.
    username = models.CharField(_("user name"), max_length=150, blank=True)
    token_prefix = models.CharField(_("token prefix"), max_length=16, blank=True)
    # Open mode has no users: the client id the limits use (the address).
    client_id = models.CharField(_("client id"), max_length=100, blank=True)
    ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=10, blank=True)
    route = models.CharField(_("route"), max_length=200, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    object_id = models.CharField(_("object id"), max_length=100, blank=True)
    status = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)

    class Meta:
        db_table = "audit_events"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"], name="audit_user_at")]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username or self.client_id} {self.method} {self.path}"
