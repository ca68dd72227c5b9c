"""Reads: a user's tokens, and their quota with what is used of it.

How the daily image quota counts (README, "Accounts"): the images requested by the user's tasks created
since 00:00 UTC, except tasks that failed (they produce no images) and tasks cancelled before a worker
started them (nothing was asked of the image service). A task cancelled after its worker started counts:
the service may already have made, and billed, its images. Unfinished tasks count in full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import accounts_mode
from core.errors import NotFound
from generation.models import UNFINISHED, GenerationTask, Status

from .models import ApiToken, Quota


def token_list(*, user) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-id"))


def token_get(*, user, token_id) -> ApiToken:
    """One of the user's active tokens; another user's, a revoked or an unknown one is a 404 alike."""
    token = None
    if str(token_id).isdigit():
        token = ApiToken.objects.filter(pk=int(token_id), user=user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound(_("API token not found."))
    return token


def utc_day(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current UTC day: its start and the next day's start (when the daily quota resets)."""
    now = (now or timezone.now()).astimezone(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def quota_of(*, user, lock: bool = False) -> Quota:
    qs = Quota.objects.select_for_update() if lock else Quota.objects
    quota, _created = qs.get_or_create(user=user)
    return quota


def images_counted(*, user, since: datetime) -> int:
    counted = (
        GenerationTask.objects.filter(owner=user, created_at__gte=since)
        .exclude(status=Status.FAILED)
        .exclude(Q(status=Status.CANCELLED) & Q(started_at__isnull=True))
    )
    return counted.aggregate(n=Sum("num_images"))["n"] or 0


def running_count(*, user) -> int:
    """The user's tasks a worker holds now (what the concurrent-task quota limits)."""
    return GenerationTask.objects.filter(owner=user, status__in=UNFINISHED).exclude(lease_owner="").count()


def unfinished_count(*, user) -> int:
    return GenerationTask.objects.filter(owner=user, status__in=UNFINISHED).count()


def quota_usage(*, user, quota: Quota | None = None, now: datetime | None = None) -> dict:
    """Limits, use and what remains, as the account API and the generate page show them."""
    quota = quota or quota_of(user=user)
    start, resets_at = utc_day(now)
    used = images_counted(user=user, since=start)
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


# --- Two-factor sign-in -----------------------------------------------------------------------------------


def totp_device(*, user, confirmed: bool = True):
    """The user's authenticator (TOTP) device, confirmed or being enrolled; None when there is none."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("id").first()


def two_factor_enabled(*, user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(*, user) -> bool:
    """Staff must sign in with a second factor when IMAGEGEN_STAFF_2FA is set."""
    from django.conf import settings

    return bool(settings.IMAGEGEN_STAFF_2FA and user.is_staff)


def second_factor_needed(*, user) -> bool:
    """A sign-in of this user asks for a second factor: they have one, or must have one (and enrol)."""
    return accounts_mode() and (two_factor_required(user=user) or two_factor_enabled(user=user))


def recovery_codes_left(*, user) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
