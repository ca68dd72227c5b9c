"""A user's own limits (accounts mode): images per UTC day, counted when a task is created; and tasks running
at once, which the workers' fair claim holds (generation/scheduling.py).

How the daily image quota counts (README, "Accounts"): the images requested by the user's tasks created (or
retried by staff) since 00:00 UTC, except tasks that failed (they produce no images) and tasks cancelled
before a worker started them (nothing was asked of the image service): generation/counted.py. A task
cancelled after its worker started counts: the service may already have made, and billed, its images.
Unfinished tasks count in full."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import QuotaExceeded

from . import counted
from .models import UNFINISHED, GenerationTask, Quota


def utc_day(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current UTC day: its start and the next day's start (when the daily quota resets)."""
    now = (now or timezone.now()).astimezone(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_users_a_quota(sender, instance, created, raw=False, **kwargs):
    """Every user gets a quota row when created, so staff find each one in the admin's quota list."""
    if created and not raw:
        Quota.objects.get_or_create(user=instance)


def quota_set(*, user, daily_images: int | None, max_concurrent_tasks: int | None) -> Quota:
    """Give `user` their own limits (None: the site default)."""
    quota, _created = Quota.objects.update_or_create(
        user=user, defaults={"daily_images": daily_images, "max_concurrent_tasks": max_concurrent_tasks})
    return quota


def quota_of(*, user, lock: bool = False) -> Quota:
    qs = Quota.objects.select_for_update() if lock else Quota.objects
    quota, _created = qs.get_or_create(user=user)
    return quota


def images_counted(*, user, since: datetime, excluding: int | None = None) -> int:
    """The images counted since `since`, leaving out the task whose pk is `excluding` (one being retried)."""
    parts = counted.counted_tasks(since=since, user=user)
    if excluding is not None:
        parts = [part.exclude(pk=excluding) for part in parts]
    return counted.total(parts, "num_images") or 0


def running_count(*, user) -> int:
    """The user's tasks a worker holds now (what the concurrent-task quota limits)."""
    return GenerationTask.objects.filter(owner=user, status__in=UNFINISHED).exclude(lease_holder="").count()


def quota_usage(*, user, quota: Quota | None = None, now: datetime | None = None, excluding: int | None = None) -> dict:
    """Limits, use and what remains, as the account API and the generate page show them (`excluding`: the
    pk of a task left out of the count, one being retried)."""
    quota = quota or quota_of(user=user)
    start, resets_at = utc_day(now)
    used = images_counted(user=user, since=start, excluding=excluding)
    running = running_count(user=user)
    return {
        "daily_images": {
            "limit": quota.daily_images_limit,
            "used": used,
            "remaining": max(0, quota.daily_images_limit - used),
            "resets_at": resets_at,
        },
        "concurrent_tasks": {
            "limit": quota.concurrent_tasks_limit,
            "used": running,
            "remaining": max(0, quota.concurrent_tasks_limit - running),
        },
    }


def quota_check(*, user, num_images: int, retry_after_busy: int, retrying: int | None = None) -> None:
    """Refuse a new task of `num_images` images beyond the user's daily-image quota (`retrying`: the pk of
    the task being run again, which this request replaces in the count).

    Call inside the transaction that creates the task. On SQLite that transaction is IMMEDIATE, so creates
    are serialised already; on PostgreSQL the user's quota row is locked, so two requests of one user are
    counted one after the other and the limit holds exactly."""
    quota = quota_of(user=user, lock=True)  # SELECT … FOR UPDATE; SQLite ignores it (see above)
    usage = quota_usage(user=user, quota=quota, excluding=retrying)
    # The concurrent-task quota is not checked here: it limits how many of the user's tasks run at once,
    # which the workers' claim decides (generation.scheduling); queued tasks wait for their turn.
    daily = usage["daily_images"]
    if num_images > daily["remaining"]:
        resets_at = daily["resets_at"].astimezone(UTC).isoformat().replace("+00:00", "Z")
        if daily["remaining"]:
            message = _(
                "This request asks for %(requested)d images but only %(remaining)d of your %(limit)d images "
                "for today remain. The quota resets at %(resets_at)s."
            )
        else:
            message = _("You have used all %(limit)d images of your daily quota. It resets at %(resets_at)s.")
        raise QuotaExceeded(
            message % {"requested": num_images, "remaining": daily["remaining"], "limit": daily["limit"],
                       "resets_at": resets_at},
            retry_after=math.ceil((daily["resets_at"] - timezone.now()).total_seconds()),
            details={"quota": "daily_images", "limit": daily["limit"], "used": daily["used"],
                     "remaining": daily["remaining"], "requested": num_images, "resets_at": resets_at},
        )
