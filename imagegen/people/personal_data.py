"""A person's data: everything of a user's as one archive (the account page, the API, `export_user_data`),
and its erasure (`erase_user`, the account page, the staff console). Both are audited."""

from __future__ import annotations

import json
import logging
import zipfile
from datetime import UTC

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors
from accounts.audit.models import AuditKind
from accounts.audit.services import audit_record
from accounts.models import ApiToken, UserSession
from accounts.services import sessions_end
from gallery.models import Board, ShareLink, Star
from generation import quotas
from generation import services as generation
from generation import storage
from generation.models import UNFINISHED, Batch, GenerationTask, Image, ImageTag, Reference

log = logging.getLogger(__name__)


EXPORT_FORMAT = 1


def _iso(value):
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_data(*, user) -> dict:
    """Everything of the user's as JSON-ready lists (no secret: token digests, password hashes and the
    authenticator's key stay out). Image files are named by `images[].file` inside the archive."""
    quota = quotas.quota_of(user=user)
    tags_by_image: dict[int, list[str]] = {}
    for image_pk, name in ImageTag.objects.filter(owner=user).order_by("tag_name").values_list("image_id", "tag_name"):
        tags_by_image.setdefault(image_pk, []).append(name)
    images = list(Image.objects.filter(owner=user).select_related("task").order_by("created_at", "id"))
    images_by_task: dict[int, list[str]] = {}
    for image in images:
        images_by_task.setdefault(image.task_id, []).append(image.image_id)
    tasks = GenerationTask.objects.filter(owner=user).order_by("created_at", "id")
    references = list(Reference.objects.filter(owner=user).select_related("task").order_by("created_at", "id"))
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
             "batch_id": t.batch_id or None, "deleted_at": _iso(t.deleted_at)}
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
             "file": f"images/{i.image_id}.{i.extension}", "deleted_at": _iso(i.deleted_at)}
            for i in images
        ],
        "tags": [
            {"name": row["tag_name"], "images": row["n"]}
            for row in ImageTag.objects.filter(owner=user).values("tag_name").annotate(n=Count("id")).order_by("tag_name")
        ],
        # Uploads (task null) and each task's own copies, in the order they were given.
        "reference_images": [
            {"reference_id": r.reference_id, "task_id": r.task.task_id if r.task else None, "index": r.index,
             "width": r.width, "height": r.height, "format": r.format, "file_size": r.file_size, "sha256": r.sha256,
             "created_at": _iso(r.created_at), "file": f"references/{r.reference_id}.{r.extension}"}
            for r in references
        ],
        "_files": [(f"images/{i.image_id}.{i.extension}", i.file_path) for i in images]
        + [(f"references/{r.reference_id}.{r.extension}", r.file_path) for r in references],
    }


def user_export(*, user, out, by=None, via: str = "") -> dict:
    """Write the user's archive (a zip: account.json with their settings and tokens, tasks.json,
    images.json, tags.json, reference_images.json, and images/<id>.<ext>, the originals, and
    references/<id>.<ext>) to the binary file `out`. Audited, with
    the staff member who asked when it is not the user. Returns how many tasks, images and tags."""
    data = user_data(user=user)
    files = data.pop("_files")
    missing = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ("account", "tasks", "images", "tags", "boards", "stars", "share_links", "reference_images"):
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


    username = user.get_username()
    # First shut the door: no new sign-in, token use or task of theirs while the rest goes.
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    sessions_end(user=user)
    for task in GenerationTask.objects.filter(owner=user, status__in=UNFINISHED):
        generation.task_cancel(task=task)
    tasks = list(GenerationTask.objects.filter(owner=user))
    paths = [p for row in Image.objects.filter(owner=user).values_list("file_path", "thumbnail_path") for p in row]
    # Reference images: uploads no task took and every task's copies (their rows would block the user's).
    paths += list(Reference.objects.filter(owner=user).values_list("file_path", flat=True))
    prefixes = [task.file_prefix() for task in tasks]
    with transaction.atomic():
        # Share links first: from here on no link of theirs shows anything.
        ShareLink.objects.filter(owner=user).delete()
        Star.objects.filter(owner=user).delete()
        Board.objects.filter(owner=user).delete()
        Batch.objects.filter(owner=user).delete()
        tags = ImageTag.objects.filter(owner=user).delete()[0]
        images = Image.objects.filter(owner=user).delete()[1].get("generation.Image", 0)
        Reference.objects.filter(owner=user).delete()
        GenerationTask.objects.filter(owner=user).delete()
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        UserSession.objects.filter(user=user).delete()
        quotas.Quota.objects.filter(user=user).delete()
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
