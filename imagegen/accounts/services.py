"""Writes: users, API tokens, and the quota check a task creation makes inside its transaction."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from datetime import UTC, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from imagegen.errors import QuotaExceeded, ValidationFailed

from . import selectors
from .models import ApiToken, Quota

log = logging.getLogger(__name__)

TOKEN_PREFIX = "igt_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
# last_used_at is written at most this often per token: a busy client must not turn reads into writes.
LAST_USED_EVERY = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


# --- Tokens -----------------------------------------------------------------------------------------------


def token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`. Returns the row and the token itself, which is shown once and never stored."""
    name = " ".join(str(name).split())
    if not name:
        raise ValidationFailed(_("Give the token a name."), details={"name": [_("Give the token a name.")]})
    if len(name) > 100:
        message = _("A token name has at most %(max)d characters.") % {"max": 100}
        raise ValidationFailed(message, details={"name": [message]})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:PREFIX_LENGTH], digest=token_digest(raw))
    log.info("API token %s (%s) created for user %s", token.pk, token.prefix, user.pk)
    return token, raw


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    log.info("API token %s (%s) of user %s revoked", token.pk, token.prefix, token.user_id)


def token_authenticate(*, raw: str):
    """The active user owning this token, or None. Records the use, at most once a minute."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        # Conditional, so that concurrent requests of one client still write once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
    return token.user


# --- Users ------------------------------------------------------------------------------------------------


def user_create(*, username: str, password: str, is_staff: bool = False, is_superuser: bool = False,
                email: str = "", daily_images: int | None = None, max_concurrent_tasks: int | None = None):
    """A new user with a checked password and, when given, their own limits."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(_("A user with that name already exists."))
    user = User(username=username, email=email, is_staff=is_staff, is_superuser=is_superuser)
    User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        Quota.objects.update_or_create(
            user=user, defaults={"daily_images": daily_images, "max_concurrent_tasks": max_concurrent_tasks}
        )
    log.info("user %s created (staff: %s)", user.pk, is_staff)
    return user


def unowned_adopt(*, user) -> int:
    """Give `user` every task, image and tag that has no owner (made in open mode). Returns the task count."""
    from gallery.models import ImageTag
    from generation.models import GenerationTask, Image

    with transaction.atomic():
        tasks = GenerationTask.objects.filter(owner__isnull=True).update(owner=user)
        Image.objects.filter(owner__isnull=True).update(owner=user)
        ImageTag.objects.filter(owner__isnull=True).update(owner=user)
    return tasks


# --- Quotas -----------------------------------------------------------------------------------------------


def quota_check(*, user, num_images: int, retry_after_busy: int) -> None:
    """Refuse a new task of `num_images` images beyond the user's concurrent-task or daily-image quota.

    Call inside the transaction that creates the task. On SQLite that transaction is IMMEDIATE, so creates
    are serialised already; on PostgreSQL the user's quota row is locked, so two requests of one user are
    counted one after the other and the limit holds exactly."""
    quota = selectors.quota_of(user=user, lock=True)  # SELECT … FOR UPDATE; SQLite ignores it (see above)
    usage = selectors.quota_usage(user=user, quota=quota)
    running = usage["concurrent_tasks"]
    if running["used"] >= running["limit"]:
        raise QuotaExceeded(
            _("You already have %(used)d unfinished tasks, as many as your quota allows. Wait for one to finish.")
            % {"used": running["used"]},
            retry_after=retry_after_busy,
            details={"quota": "concurrent_tasks", "limit": running["limit"], "used": running["used"]},
        )
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
