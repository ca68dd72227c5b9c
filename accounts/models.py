"""API tokens and the sessions a user has signed in with; the access audit log is in audit/models.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored: the token itself is shown once, at creation.

    The prefix (the token's first characters, not enough to use it) lets a user tell their tokens apart."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # What the token may do: read (GET), generate (POST /generate and the stream's generate), manage
    # (every other change: deletions, tags, bulk actions). Space-separated.
    scopes = models.CharField(_("scopes"), max_length=40, default="read generate manage")
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    # A signing token has a secret (derived from SECRET_KEY and the digest, so nothing more is stored) for
    # HMAC-signed requests; with signature_required it refuses unsigned use.
    signing = models.BooleanField(_("signing token"), default=False)
    signature_required = models.BooleanField(_("signature required"), default=False)
    # The webhook a task created with this token gets when its request names none (README, "Webhooks").
    webhook_url = models.CharField(_("default webhook"), max_length=2000, blank=True, default="")

    class Meta:
        db_table = "api_tokens"
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def webhook_host(self) -> str:
        """The default webhook's host, which the account page shows (its path and query may hold a
        receiver's secret, as the delivery log knows)."""
        try:
            return urlsplit(self.webhook_url).hostname or ""
        except ValueError:
            return ""


class UserSession(models.Model):
    """Which sessions a user is signed in with (recorded at sign-in), so that "sign out everywhere" can
    end them all without reading every session in the store."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "user_sessions"


from .audit.models import AuditEvent, AuditKind  # noqa: E402,F401  (Django finds it here)
