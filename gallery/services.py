"""Writes on tags: add, remove, rename, merge. Tag names are user text: trimmed, collapsed, bounded."""

from __future__ import annotations

import re
import unicodedata

from django.db import transaction
from django.utils.translation import gettext as _

from imagegen.errors import ValidationFailed

from .models import MAX_TAG_LENGTH, ImageTag

MAX_TAGS_PER_IMAGE = 30


def normalize_tag(name) -> str:
    """One spelling per tag: NFKC, no control characters, inner whitespace collapsed, lower case."""
    if not isinstance(name, str):
        raise ValidationFailed(_("A tag must be text."), details={"tags": [_("A tag must be text.")]})
    name = unicodedata.normalize("NFKC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lower()
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


def images_delete(*, images) -> int:
    """Delete images with their tags and files. Their tasks stay in the history."""
    from generation import storage
    from generation.models import Image

    images = list(images)
    paths = [p for image in images for p in (image.file_path, image.thumbnail_path)]
    with transaction.atomic():
        deleted, _detail = Image.objects.filter(pk__in=[i.pk for i in images]).delete()
        transaction.on_commit(lambda: storage.delete_files(paths))
    return len(images)
