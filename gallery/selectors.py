"""Reads for the gallery: images with their task and tags, filterable; tag usage counts."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from generation.models import Image

from .models import ImageTag


def image_list(*, filters: dict) -> QuerySet:
    # The task comes by prefetch, not a join: a join makes SQLite walk tasks first and sort 200,000 images.
    qs = Image.objects.prefetch_related("task", Prefetch("tags", queryset=ImageTag.objects.order_by("tag_name")))
    if filters.get("tag"):
        qs = qs.filter(tags__tag_name=filters["tag"])
    if filters.get("model"):
        qs = qs.filter(task__model=filters["model"])
    if filters.get("q"):
        qs = qs.filter(task__prompt__icontains=filters["q"])
    return qs.order_by("-created_at", "-id")


def tag_counts() -> list[dict]:
    """Every tag with the number of images carrying it, most used first."""
    return list(
        ImageTag.objects.values("tag_name").annotate(count=Count("id")).order_by("-count", "tag_name")
    )
