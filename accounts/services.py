"""Writes: users, API tokens, and the quota check a task creation makes inside its transaction."""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import secrets
from datetime import timedelta
from importlib import import_module

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import outbound
from core.errors import ValidationFailed

from . import selectors
from .audit.models import AuditKind
from .audit.services import audit_record
from .models import ApiToken, UserSession

log = logging.getLogger(__name__)

TOKEN_PREFIX = "igt_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
# last_used_at is written at most this often per token: a busy client must not turn reads into writes.
LAST_USED_EVERY = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


# --- Tokens -----------------------------------------------------------------------------------------------


SCOPES = ("read", "generate", "manage")
MAX_EXPIRY_DAYS = 3650
WEBHOOK_MAX_LENGTH = 2000  # ApiToken.webhook_url's


def token_create(*, user, name: str, scopes=SCOPES, expires_in_days: int | None = None,
                 signing: bool = False, signature_required: bool = False, webhook: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`. Returns the row and the token itself, which is shown once and never stored
    (a signing token's secret is `signing.signing_secret(token.digest)`, shown once too)."""
    scopes = [s for s in SCOPES if s in set(scopes or ())]
    unknown = set(scopes or ()) - set(SCOPES)
    if not scopes or unknown:
        message = _("Choose the token's scopes among read, generate and manage.")
        raise ValidationFailed(message, details={"scopes": [message]})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        message = _("A token expires after 1 to %(max)d days.") % {"max": MAX_EXPIRY_DAYS}
        raise ValidationFailed(message, details={"expires_in_days": [message]})
    if signature_required:
        signing = True
    name = " ".join(str(name).split())
    if not name:
        raise ValidationFailed(_("Give the token a name."), details={"name": [_("Give the token a name.")]})
    if len(name) > 100:
        message = _("A token name has at most %(max)d characters.") % {"max": 100}
        raise ValidationFailed(message, details={"name": [message]})
    webhook = token_webhook_check(webhook)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:PREFIX_LENGTH], digest=token_digest(raw),
                                    scopes=" ".join(scopes), expires_at=expires_at, signing=signing,
                                    signature_required=signature_required, webhook_url=webhook)
    log.info("API token %s (%s) created for user %s", token.pk, token.prefix, user.pk)
    audit_record(AuditKind.TOKEN_CREATED, user=user, username=user.get_username(), token_prefix=token.prefix,
                 object_id=str(token.pk))
    return token, raw


def token_webhook_check(webhook: str | None) -> str:
    """A token's default webhook as it is stored ("" for none), checked against the outbound policy: the
    one check behind the API (POST /api/v1/account/tokens) and the account page's token form. Raises
    ValidationFailed naming the field `webhook`."""
    webhook = (webhook or "").strip()
    if not webhook:
        return ""
    if len(webhook) > WEBHOOK_MAX_LENGTH:
        message = _("A webhook URL has at most %(max)d characters.") % {"max": WEBHOOK_MAX_LENGTH}
        raise ValidationFailed(message, details={"webhook": [message]})
    try:
        outbound.check_url(webhook)
    except outbound.RefusedURL as err:
        message = _("This webhook URL is not allowed: %(reason)s") % {"reason": str(err)}
        raise ValidationFailed(message, details={"webhook": [message]}) from None
    return webhook


def token_revoke(*, token: ApiToken) -> None:
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    log.info("API token %s (%s) of user %s revoked", token.pk, token.prefix, token.user_id)
    if revoked:
        audit_record(AuditKind.TOKEN_REVOKED, user=token.user, username=token.user.get_username(),
                     token_prefix=token.prefix, object_id=str(token.pk))


def token_authenticate(*, raw: str):
    """The active user owning this token, or None. Records the use, at most once a minute."""
    token = token_lookup(raw=raw)
    return None if token is None else token.user


def token_expired(*, raw: str) -> bool:
    """True when the token exists, is not revoked, and has expired (to tell its user so)."""
    return ApiToken.objects.filter(digest=token_digest(raw), revoked_at__isnull=True,
                                   expires_at__lte=timezone.now()).exists()


def token_lookup(*, raw: str):
    """The token (with its user) if it is known, not revoked, not expired and its user active; else None.
    Records the use, at most once a minute."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        # Conditional, so that concurrent requests of one client still write once.
        used = ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
        if used:  # at most once a minute per token, like last_used_at: reads stay reads
            audit_record(AuditKind.TOKEN_USED, user=token.user, username=token.user.get_username(),
                         token_prefix=token.prefix, object_id=str(token.pk))
    return token


# --- Users ------------------------------------------------------------------------------------------------


def user_create(*, username: str, password: str, is_staff: bool = False, is_superuser: bool = False,
                email: str = ""):
    """A new user with a checked password (their quota row comes with them: generation/signals.py)."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(_("A user with that name already exists."))
    user = User(username=username, email=email, is_staff=is_staff, is_superuser=is_superuser)
    User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        if is_staff and not is_superuser:
            user.groups.add(operators_group())
    log.info("user %s created (staff: %s)", user.pk, is_staff)
    return user


OPERATORS_GROUP = "Operators"
# The staff console's work (tasks, images, tags, quotas, tokens, the audit log, the queue's records):
# everything of the product's own apps, and only reading of the rest. Users, groups and job schedules
# stay with superusers.
OPERATOR_APPS = ("accounts", "generation", "gallery", "history", "imagegen")
OPERATOR_EXTRA = ("admin.view_logentry", "django_q.view_task", "django_q.view_success", "django_q.view_failure",
                  "django_q.view_ormq", "django_q.view_schedule")


def operators_group():
    """The group staff made by `adduser --staff` belong to (created, and its permissions brought up to date)."""
    group, _created = Group.objects.get_or_create(name=OPERATORS_GROUP)
    extra = Q()
    for name in OPERATOR_EXTRA:
        app, codename = name.split(".")
        extra |= Q(content_type__app_label=app, codename=codename)
    group.permissions.set(Permission.objects.filter(Q(content_type__app_label__in=OPERATOR_APPS) | extra))
    return group


def sessions_end(*, user, keep: str | None = None) -> int:
    """End the user's sessions (but `keep`, a session key): browsers, and the sockets they opened, which
    close at their next message or heartbeat. Returns how many. API tokens are not touched."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(UserSession.objects.filter(user=user).exclude(session_key=keep or "")
                .values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    return len(keys)


def sign_out_everywhere(*, user) -> int:
    """End every session the user is signed in with (browsers, and the sockets they opened, which close
    at their next message or heartbeat). Returns how many. API tokens are not touched."""
    ended = sessions_end(user=user)
    audit_record(AuditKind.SIGN_OUT, user=user, username=user.get_username(), object_id="everywhere")
    log.info("user %s signed out everywhere (%d sessions)", user.pk, ended)
    return ended


# --- Two-factor sign-in (TOTP and recovery codes, through django-otp) --------------------------------------

RECOVERY_CODES = 10


class SecondFactorWait(Exception):
    """django-otp's own throttle: after wrong codes, a device answers again only after a growing pause."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def totp_enrolment_start(*, user):
    """The unconfirmed authenticator device the user is enrolling (made, or the one already begun)."""
    device = selectors.totp_device(user=user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_provisioning(*, device) -> dict:
    """What an authenticator app needs: the otpauth:// URI, its QR code (an SVG data URI drawn here, no
    outside service) and the key in base32 for typing in by hand."""
    uri = device.config_url
    return {"uri": uri, "qr": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
            "key": base64.b32encode(device.bin_key).decode("ascii")}


def second_factor_check(*, user, code: str, enrolling=None):
    """The device that accepts `code` (django-otp verifies it and throttles repeated failures), or None:
    while enrolling, only the new authenticator; otherwise the user's authenticator, then a recovery code
    (used up by the check)."""
    code = "".join(str(code).split())

    def allowed(device):
        ok, info = device.verify_is_allowed()
        if not ok and info and info.get("locked_until"):
            raise SecondFactorWait(max(1, math.ceil((info["locked_until"] - timezone.now()).total_seconds())))

    with transaction.atomic():
        if enrolling is not None:
            allowed(enrolling)
            return enrolling if enrolling.verify_token(code) else None
        totp = selectors.totp_device(user=user)
        if totp is not None and code.isdigit():
            allowed(totp)
            if totp.verify_token(code):
                return totp
        for device in StaticDevice.objects.filter(user=user, confirmed=True).select_for_update():
            allowed(device)
            if device.verify_token(code.lower()):
                audit_record(AuditKind.SIGN_IN, user=user, username=user.get_username(), object_id="recovery_code")
                return device
    return None


def totp_enrolment_confirm(*, user, device) -> list[str]:
    """Turn on two-factor sign-in with an enrolled device whose code was checked: confirmed (any older
    authenticator is removed) and new recovery codes, returned to be shown once."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_renew(user=user)
    audit_record(AuditKind.TWO_FACTOR, user=user, username=user.get_username(),
                 object_id="enabled")
    log.info("user %s turned two-factor sign-in on", user.pk)
    return codes


def recovery_codes_renew(*, user) -> list[str]:
    """New recovery codes (the old ones stop working), returned to be shown once. Each works once."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit_record(AuditKind.TWO_FACTOR, user=user, username=user.get_username(), object_id="recovery_codes")
    return codes


def two_factor_disable(*, user) -> None:
    """Turn two-factor sign-in off (refused for staff who must have it)."""
    if selectors.two_factor_required(user=user):
        raise ValidationFailed(_("Staff must sign in with a second factor on this site: it cannot be turned off."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    audit_record(AuditKind.TWO_FACTOR, user=user, username=user.get_username(), object_id="disabled")
    log.info("user %s turned two-factor sign-in off", user.pk)
