"""Reads for the gallery: images with their task and tags, filterable; tag usage counts."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from generation.models import Image, is_image_id

from imagegen.accounts.access import owned_by

from .models import ImageTag


def image_list(*, filters: dict, user=None) -> QuerySet:
    """`user`'s images (everyone's in open mode), newest first."""
    # The task comes by prefetch, not a join: a join makes SQLite walk tasks first and sort 200,000 images.
    qs = Image.objects.prefetch_related("task", Prefetch("tags", queryset=ImageTag.objects.order_by("tag_name")))
    qs = owned_by(qs, user)
    if filters.get("tag"):
        qs = qs.filter(tags__tag_name=filters["tag"])
    if filters.get("model"):
        qs = qs.filter(task__model=filters["model"])
    if filters.get("q"):
        qs = qs.filter(task__prompt__icontains=filters["q"])
    return qs.order_by("-created_at", "-id")


def tag_counts(*, user=None) -> list[dict]:
    """Every tag of `user`'s images (of all images in open mode) with how many carry it, most used first."""
    return list(
        owned_by(ImageTag.objects.all(), user).values("tag_name").annotate(count=Count("id")).order_by("-count", "tag_name")
    )


def images_by_ids(*, image_ids, user=None, with_task: bool = False) -> list[Image]:
    """The images among `image_ids` that are `user`'s (any in open mode); others are left out, as if missing."""
    qs = owned_by(Image.objects.filter(image_id__in=[i for i in image_ids if is_image_id(i)]), user)
    return list(qs.select_related("task") if with_task else qs)
