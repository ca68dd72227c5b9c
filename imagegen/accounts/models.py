"""API tokens and per-user quotas (registered through imagegen/models.py)."""

from __future__ import annotations

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

    class Meta:
        db_table = "api_tokens"
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Quota(models.Model):
    """A user's limits. Empty means the site default (IMAGEGEN_DEFAULT_DAILY_IMAGES,
    IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS). The row is also what a task creation locks on PostgreSQL, so two
    requests of one user are counted one after the other."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="quota", verbose_name=_("user"))
    daily_images = models.PositiveIntegerField(
        _("images per day"), null=True, blank=True,
        help_text=_("Images this user may request per UTC day. Empty: the site default."),
    )
    max_concurrent_tasks = models.PositiveIntegerField(
        _("concurrent tasks"), null=True, blank=True,
        help_text=_("Unfinished tasks this user may have at once. Empty: the site default."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "user_quotas"
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def daily_images_limit(self) -> int:
        return settings.IMAGEGEN_DEFAULT_DAILY_IMAGES if self.daily_images is None else self.daily_images

    @property
    def concurrent_tasks_limit(self) -> int:
        if self.max_concurrent_tasks is None:
            return settings.IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS
        return self.max_concurrent_tasks
