"""A user's own limits (accounts mode): images per UTC day and tasks running at once. Counted by
generation/quotas.py when a task is created and by the fair claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Quota(models.Model):
    """A user's limits. Empty means the site default (IMAGEGEN_DEFAULT_DAILY_IMAGES,
    IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS: tasks running at once). The row is also what a task creation locks on PostgreSQL, so two
    requests of one user are counted one after the other."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="quota", verbose_name=_("user"))
    daily_images = models.PositiveIntegerField(
        _("images per day"), null=True, blank=True,
        help_text=_("Images this user may request per UTC day. Empty: the site default."),
    )
    max_concurrent_tasks = models.PositiveIntegerField(
        _("concurrent tasks"), null=True, blank=True,
        help_text=_("Tasks of this user that may run at once (more wait in the queue). Empty: the site default."),
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
