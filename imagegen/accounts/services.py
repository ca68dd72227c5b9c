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

from core.errors import QuotaExceeded, ValidationFailed
from imagegen.audit.models import AuditKind
from imagegen.audit.services import audit_record

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


SCOPES = ("read", "generate", "manage")
MAX_EXPIRY_DAYS = 3650


def token_create(*, user, name: str, scopes=SCOPES, expires_in_days: int | None = None,
                 signing: bool = False, signature_required: bool = False) -> tuple[ApiToken, str]:
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
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:PREFIX_LENGTH], digest=token_digest(raw),
                                    scopes=" ".join(scopes), expires_at=expires_at, signing=signing,
                                    signature_required=signature_required)
    log.info("API token %s (%s) created for user %s", token.pk, token.prefix, user.pk)
    audit_record(AuditKind.TOKEN_CREATED, user=user, username=user.get_username(), token_prefix=token.prefix,
                 object_id=str(token.pk))
    return token, raw


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
        if is_staff and not is_superuser:
            user.groups.add(operators_group())
    log.info("user %s created (staff: %s)", user.pk, is_staff)
    return user


OPERATORS_GROUP = "Operators"
# The staff console's work (tasks, images, tags, quotas, tokens, the audit log, the queue's records):
# everything of the product's own apps, and only reading of the rest. Users, groups and job schedules
# stay with superusers.
OPERATOR_APPS = ("generation", "gallery", "history", "imagegen")
OPERATOR_EXTRA = ("admin.view_logentry", "django_q.view_task", "django_q.view_success", "django_q.view_failure",
                  "django_q.view_ormq", "django_q.view_schedule")


def operators_group():
    """The group staff made by `adduser --staff` belong to (created, and its permissions brought up to date)."""
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

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
    from importlib import import_module

    from django.conf import settings

    from .models import UserSession

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
    """Refuse a new task of `num_images` images beyond the user's daily-image quota.

    Call inside the transaction that creates the task. On SQLite that transaction is IMMEDIATE, so creates
    are serialised already; on PostgreSQL the user's quota row is locked, so two requests of one user are
    counted one after the other and the limit holds exactly."""
    quota = selectors.quota_of(user=user, lock=True)  # SELECT … FOR UPDATE; SQLite ignores it (see above)
    usage = selectors.quota_usage(user=user, quota=quota)
    # The concurrent-task quota is not checked here: it limits how many of the user's tasks run at once,
    # which the workers' claim decides (generation.services); queued tasks wait for their turn.
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


# --- Two-factor sign-in (TOTP and recovery codes, through django-otp) --------------------------------------

RECOVERY_CODES = 10


class SecondFactorWait(Exception):
    """django-otp's own throttle: after wrong codes, a device answers again only after a growing pause."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def totp_enrolment_start(*, user):
    """The unconfirmed authenticator device the user is enrolling (made, or the one already begun)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = selectors.totp_device(user=user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_provisioning(*, device) -> dict:
    """What an authenticator app needs: the otpauth:// URI, its QR code (an SVG data URI drawn here, no
    outside service) and the key in base32 for typing in by hand."""
    import base64

    import segno

    uri = device.config_url
    return {"uri": uri, "qr": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
            "key": base64.b32encode(device.bin_key).decode("ascii")}


def second_factor_check(*, user, code: str, enrolling=None):
    """The device that accepts `code` (django-otp verifies it and throttles repeated failures), or None:
    while enrolling, only the new authenticator; otherwise the user's authenticator, then a recovery code
    (used up by the check)."""
    from django_otp.plugins.otp_static.models import StaticDevice

    import math

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
    from django_otp.plugins.otp_totp.models import TOTPDevice

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
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit_record(AuditKind.TWO_FACTOR, user=user, username=user.get_username(), object_id="recovery_codes")
    return codes


def two_factor_disable(*, user) -> None:
    """Turn two-factor sign-in off (refused for staff who must have it)."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if selectors.two_factor_required(user=user):
        raise ValidationFailed(_("Staff must sign in with a second factor on this site: it cannot be turned off."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    audit_record(AuditKind.TWO_FACTOR, user=user, username=user.get_username(), object_id="disabled")
    log.info("user %s turned two-factor sign-in off", user.pk)


# --- A person's data: export and erasure ---------------------------------------------------------------------

EXPORT_FORMAT = 1


def _iso(value):
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_data(*, user) -> dict:
    """Everything of the user's as JSON-ready lists (no secret: token digests, password hashes and the
    authenticator's key stay out). Image files are named by `images[].file` inside the archive."""
    from django.db.models import Count

    from gallery.models import Board, ImageTag, ShareLink, Star
    from generation.models import GenerationTask, Image

    quota = selectors.quota_of(user=user)
    tags_by_image: dict[int, list[str]] = {}
    for image_pk, name in ImageTag.objects.filter(owner=user).order_by("tag_name").values_list("image_id", "tag_name"):
        tags_by_image.setdefault(image_pk, []).append(name)
    images = list(Image.objects.filter(owner=user).select_related("task").order_by("created_at", "id"))
    images_by_task: dict[int, list[str]] = {}
    for image in images:
        images_by_task.setdefault(image.task_id, []).append(image.image_id)
    tasks = GenerationTask.objects.filter(owner=user).order_by("created_at", "id")
    return {
        "account": {
            "format": EXPORT_FORMAT,
            "exported_at": _iso(timezone.now()),
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
            "is_staff": user.is_staff,
            "settings": {
                "daily_images": quota.daily_images,
                "max_concurrent_tasks": quota.max_concurrent_tasks,
                "two_factor": selectors.two_factor_enabled(user=user),
            },
            "api_tokens": [
                {"name": t.name, "prefix": t.prefix, "scopes": t.scope_list, "created_at": _iso(t.created_at),
                 "last_used_at": _iso(t.last_used_at), "expires_at": _iso(t.expires_at),
                 "revoked_at": _iso(t.revoked_at), "signing": t.signing, "signature_required": t.signature_required}
                for t in ApiToken.objects.filter(user=user).order_by("created_at", "id")
            ],
        },
        "tasks": [
            {"task_id": t.task_id, "status": t.status, "prompt": t.prompt, "negative_prompt": t.negative_prompt,
             "model": t.model, "width": t.width, "height": t.height, "num_images": t.num_images, "steps": t.steps,
             "scale": t.scale, "seed": t.seed, "enhance_prompt": t.enhance_prompt, "revised_prompt": t.revised_prompt,
             "error_code": t.error_code, "error_message": t.error_message, "retry_count": t.retry_count,
             "created_at": _iso(t.created_at), "started_at": _iso(t.started_at),
             "completed_at": _iso(t.completed_at), "images": images_by_task.get(t.pk, []),
             "batch_id": t.batch_id or None}
            for t in tasks
        ],
        "boards": [
            {"board_id": b.board_id, "name": b.name, "created_at": _iso(b.created_at),
             "images": [e.image.image_id for e in b.entries.select_related("image").order_by("added_at", "id")]}
            for b in Board.objects.filter(owner=user).order_by("name", "id")
        ],
        "stars": list(Star.objects.filter(owner=user).order_by("created_at", "id").values_list("image__image_id", flat=True)),
        "share_links": [
            {"share_id": link.share_id, "kind": link.kind, "target_id": link.target_id, "show_prompt": link.show_prompt,
             "expires_at": _iso(link.expires_at), "revoked_at": _iso(link.revoked_at), "views": link.views,
             "created_at": _iso(link.created_at)}
            for link in ShareLink.objects.filter(owner=user).order_by("created_at", "id")
        ],
        "images": [
            {"image_id": i.image_id, "task_id": i.task.task_id, "index": i.index, "width": i.width,
             "height": i.height, "format": i.format, "file_size": i.file_size, "sha256": i.sha256, "seed": i.seed,
             "created_at": _iso(i.created_at), "tags": tags_by_image.get(i.pk, []),
             "file": f"images/{i.image_id}.{i.extension}"}
            for i in images
        ],
        "tags": [
            {"name": row["tag_name"], "images": row["n"]}
            for row in ImageTag.objects.filter(owner=user).values("tag_name").annotate(n=Count("id")).order_by("tag_name")
        ],
        "_files": [(f"images/{i.image_id}.{i.extension}", i.file_path) for i in images],
    }


def user_export(*, user, out, by=None, via: str = "") -> dict:
    """Write the user's archive (a zip: account.json with their settings and tokens, tasks.json,
    images.json, tags.json, and images/<id>.<ext>, the originals) to the binary file `out`. Audited, with
    the staff member who asked when it is not the user. Returns how many tasks, images and tags."""
    import json
    import zipfile

    from django.core.files.storage import default_storage

    data = user_data(user=user)
    files = data.pop("_files")
    missing = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ("account", "tasks", "images", "tags", "boards", "stars", "share_links"):
            archive.writestr(f"{name}.json", json.dumps(data[name], ensure_ascii=False, indent=2))
        for name, path in files:
            try:
                with default_storage.open(path, "rb") as source, \
                        archive.open(name, "w", force_zip64=True) as target:
                    for chunk in iter(lambda: source.read(1024 * 1024), b""):
                        target.write(chunk)
            except OSError:
                missing.append(name)  # a file lost from storage: the archive says so instead of failing
        if missing:
            archive.writestr("missing-files.json", json.dumps(missing, indent=2))
    counts = {"tasks": len(data["tasks"]), "images": len(data["images"]), "tags": len(data["tags"])}
    _audit_for(AuditKind.DATA_EXPORTED, user=user, by=by, via=via)
    log.info("data of user %s exported (%d tasks, %d images)%s", user.pk, counts["tasks"], counts["images"],
             f" by staff {by.pk}" if by is not None and by.pk != user.pk else "")
    return counts


def _audit_for(kind, *, user, by=None, via: str = "", username: str | None = None) -> None:
    """An audit event about `user`'s data: who acted (the user, a staff member, or `via`, a command run by
    an operator, in the client id) and, as the object, whose data it was."""
    username = username or user.get_username()
    fields = {"object_id": f"user:{username}"}
    if via:
        fields["client_id"] = via[:100]
    if by is not None and by.pk != user.pk:
        audit_record(kind, user=by, username=by.get_username(), **fields)
    elif via:
        audit_record(kind, user=None, username="", **fields)
    else:
        audit_record(kind, user=user if user.pk else None, username=username, **fields)


def user_erase(*, user, by=None, via: str = "") -> dict:
    """Erase the user and everything of theirs: unfinished tasks are cancelled (a worker on one discards its
    work), then every task, image and tag row, the image files and thumbnails in storage (local or object
    storage, the task's whole folder), API tokens, sessions, two-factor devices, quota and the user row.
    The audit log keeps its records (who did what, never content) until IMAGEGEN_AUDIT_RETENTION_DAYS;
    backups keep whatever they held until they are deleted (README, "Security"). Returns what went."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gallery.models import Board, ImageTag, ShareLink, Star
    from generation import services as generation
    from generation import storage
    from generation.models import UNFINISHED, Batch, GenerationTask, Image

    from .models import UserSession

    username = user.get_username()
    # First shut the door: no new sign-in, token use or task of theirs while the rest goes.
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    sessions_end(user=user)
    for task in GenerationTask.objects.filter(owner=user, status__in=UNFINISHED):
        generation.task_cancel(task=task)
    tasks = list(GenerationTask.objects.filter(owner=user))
    paths = [p for row in Image.objects.filter(owner=user).values_list("file_path", "thumbnail_path") for p in row]
    prefixes = [task.file_prefix() for task in tasks]
    with transaction.atomic():
        # Share links first: from here on no link of theirs shows anything.
        ShareLink.objects.filter(owner=user).delete()
        Star.objects.filter(owner=user).delete()
        Board.objects.filter(owner=user).delete()
        Batch.objects.filter(owner=user).delete()
        tags = ImageTag.objects.filter(owner=user).delete()[0]
        images = Image.objects.filter(owner=user).delete()[1].get("generation.Image", 0)
        GenerationTask.objects.filter(owner=user).delete()
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        UserSession.objects.filter(user=user).delete()
        Quota.objects.filter(user=user).delete()
        user.delete()
    # Files go once the rows are gone for good. A worker that was storing a cancelled task's results may
    # still write after this listing: the task row is gone, so the daily cleanup removes those files.
    removed = sorted(set(paths + [p for prefix in prefixes for p in storage.list_prefix(prefix)]))
    storage.delete_files(removed)
    result = {"username": username, "tasks": len(tasks), "images": images, "tags": tags, "files": len(removed)}
    _audit_for(AuditKind.ACCOUNT_ERASED, user=user, by=by, via=via, username=username)
    log.info("user %s erased (%s) with %d tasks, %d images, %d files", username,
             via or ("by staff" if by is not None and by.pk != user.pk else "by themselves"),
             len(tasks), images, len(removed))
    return result
