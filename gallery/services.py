"""Writes of the gallery: tags (add, remove, rename, merge; names are user text: trimmed, collapsed,
bounded), boards, stars and share links."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, ValidationFailed
from generation import services as generation_services
from generation.models import MAX_TAG_LENGTH, ImageTag

from . import selectors
from .models import MAX_BOARD_NAME, Board, BoardImage, ShareLink, Star

MAX_TAGS_PER_IMAGE = 30


def clean_text(text: str) -> str:
    """A name as people mean it: NFKC, no control or invisible format characters, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return re.sub(r"\s+", " ", text).strip()


def normalize_tag(name) -> str:
    """One spelling per tag: NFKC, no control characters, inner whitespace collapsed, lower case."""
    if not isinstance(name, str):
        raise ValidationFailed(_("A tag must be text."), details={"tags": [_("A tag must be text.")]})
    name = clean_text(name).lower()
    if not name:
        raise ValidationFailed(_("A tag must not be empty."), details={"tags": [_("A tag must not be empty.")]})
    if len(name) > MAX_TAG_LENGTH:
        message = _("A tag has at most %(max)d characters.") % {"max": MAX_TAG_LENGTH}
        raise ValidationFailed(message, details={"tags": [message]})
    return name


def tags_add(*, images, names) -> int:
    """Add each tag to each image (already-present pairs are left alone). Returns how many were added."""
    clean = sorted({normalize_tag(n) for n in names})
    added = 0
    with transaction.atomic():
        for image in images:
            present = set(image.tags.values_list("tag_name", flat=True))
            new = [n for n in clean if n not in present]
            if len(present) + len(new) > MAX_TAGS_PER_IMAGE:
                message = _("An image has at most %(max)d tags.") % {"max": MAX_TAGS_PER_IMAGE}
                raise ValidationFailed(message, details={"tags": [message]})
            ImageTag.objects.bulk_create(
                [ImageTag(image=image, owner_id=image.owner_id, tag_name=n) for n in new], ignore_conflicts=True
            )
            added += len(new)
    return added


def tags_remove(*, images, names) -> int:
    clean = {normalize_tag(n) for n in names}
    deleted, _detail = ImageTag.objects.filter(image__in=list(images), tag_name__in=clean).delete()
    return deleted


def tag_rename(*, old: str, new: str) -> int:
    """Rename a tag everywhere; where an image already has the new name, the two become one."""
    return tag_merge(sources=[old], target=new)


def tag_merge(*, sources, target: str) -> int:
    """Fold every source tag into `target`. Returns how many image-tag rows now carry the target."""
    target = normalize_tag(target)
    sources = {normalize_tag(s) for s in sources} - {target}
    with transaction.atomic():
        rows = ImageTag.objects.filter(tag_name__in=sources)
        having_target = set(ImageTag.objects.filter(tag_name=target).values_list("image_id", flat=True))
        moved = 0
        for row in rows.select_for_update():
            if row.image_id in having_target:
                row.delete()
            else:
                row.tag_name = target
                row.save(update_fields=["tag_name"])
                having_target.add(row.image_id)
                moved += 1
    return moved


def images_delete(*, images, purge: bool = False) -> int:
    """Move images to the trash, or (`purge`) delete them with their tags and files for good. Their tasks stay
    in the history either way."""
    images = list(images)
    if purge:
        generation_services.images_delete(images=images)
    else:
        generation_services.images_trash(images=images)
    return len(images)


# --- Boards and stars -------------------------------------------------------------------------------------


def board_name(name) -> str:
    """A board's name: user text, NFKC, no control characters, whitespace collapsed, case kept."""
    if not isinstance(name, str):
        raise ValidationFailed(_("A board name must be text."), details={"name": [_("A board name must be text.")]})
    name = clean_text(name)
    if not name:
        raise ValidationFailed(_("Give the board a name."), details={"name": [_("Give the board a name.")]})
    if len(name) > MAX_BOARD_NAME:
        message = _("A board name has at most %(max)d characters.") % {"max": MAX_BOARD_NAME}
        raise ValidationFailed(message, details={"name": [message]})
    return name


def _name_taken(name: str) -> Conflict:
    return Conflict(_("You already have a board named %(name)s.") % {"name": name}, code="board_exists",
                    details={"name": [_("This name is taken.")]})


def board_create(*, name, owner=None) -> Board:
    name = board_name(name)
    if Board.objects.filter(owner=owner, name=name).exists():
        raise _name_taken(name)
    try:
        with transaction.atomic():
            return Board.objects.create(name=name, owner=owner)
    except IntegrityError:  # a twin request won the race
        raise _name_taken(name) from None


def board_rename(*, board: Board, name) -> Board:
    name = board_name(name)
    if Board.objects.filter(owner_id=board.owner_id, name=name).exclude(pk=board.pk).exists():
        raise _name_taken(name)
    try:
        with transaction.atomic():
            Board.objects.filter(pk=board.pk).update(name=name)
    except IntegrityError:
        raise _name_taken(name) from None
    board.name = name
    return board


def board_delete(*, board: Board) -> None:
    """The board goes; its images stay where they are."""
    board.delete()


def board_add(*, board: Board, images) -> int:
    """Put the images on the board (those already there stay); how many were added."""
    with transaction.atomic():
        present = set(BoardImage.objects.filter(board=board, image__in=images).values_list("image_id", flat=True))
        new = [BoardImage(board=board, image=image) for image in images if image.pk not in present]
        BoardImage.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def board_remove(*, board: Board, images) -> int:
    return BoardImage.objects.filter(board=board, image__in=images).delete()[0]


def star_set(*, image, starred: bool) -> None:
    if starred:
        Star.objects.get_or_create(image=image, defaults={"owner_id": image.owner_id})
    else:
        Star.objects.filter(image=image).delete()


def share_create(*, kind: str, target_id: str, show_prompt: bool = True, expires_in_days: int | None = None,
                 owner=None) -> ShareLink:
    """A read-only link to the owner's image, task or board (NotFound if it is not theirs)."""
    selectors.share_target_images(kind=kind, target_id=target_id, user=owner)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    return ShareLink.objects.create(kind=kind, target_id=target_id, show_prompt=show_prompt,
                                    expires_at=expires_at, owner=owner)


def share_revoke(*, link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    link.refresh_from_db()
