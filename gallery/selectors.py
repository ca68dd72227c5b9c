"""Reads for the gallery: images with their task and tags, filterable; tag usage counts. Images in the trash
(alone or with their task) are left out of every one of them, as if deleted."""

from __future__ import annotations

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import owned_by
from core.errors import NotFound
from generation import selectors as generation_selectors
from generation.models import Image, is_image_id

from .models import Board, ImageTag, ShareLink, is_board_id, is_share_id


def image_list(*, filters: dict, user=None) -> QuerySet:
    """`user`'s images (everyone's in open mode), newest first, none in the trash."""
    # The task comes by prefetch, not a join: a join makes SQLite walk tasks first and sort 200,000 images.
    # An image carries its own deleted_at (set with its task's), so the trash needs no join either.
    qs = Image.objects.filter(deleted_at__isnull=True).prefetch_related(
        "task", "star", Prefetch("tags", queryset=ImageTag.objects.order_by("tag_name")))
    qs = owned_by(qs, user)
    if filters.get("tag"):
        qs = qs.filter(tags__tag_name=filters["tag"])
    if filters.get("model"):
        qs = qs.filter(task__model=filters["model"])
    if filters.get("q"):
        # The matching tasks' ids from the prompt index (generation.selectors.PromptSearch pages tasks, not images).
        qs = qs.filter(task_id__in=generation_selectors.prompt_task_ids(text=filters["q"], user=user))
    if filters.get("batch"):
        qs = qs.filter(task__batch_id=filters["batch"])
    if filters.get("board"):
        qs = qs.filter(board_entries__board__board_id=filters["board"])
    if filters.get("starred"):
        qs = qs.filter(star__isnull=False)
    return qs.order_by("-created_at", "-id")


def tag_counts(*, user=None) -> list[dict]:
    """Every tag of `user`'s images (of all images in open mode) out of the trash, with how many carry it, most
    used first."""
    tags = owned_by(ImageTag.objects.filter(image__deleted_at__isnull=True), user)
    return list(tags.values("tag_name").annotate(count=Count("id")).order_by("-count", "tag_name"))


def images_by_ids(*, image_ids, user=None, with_task: bool = False) -> list[Image]:
    """The images among `image_ids` that are `user`'s (any in open mode) and out of the trash; others are left
    out, as if missing."""
    qs = owned_by(Image.objects.filter(image_id__in=[i for i in image_ids if is_image_id(i)], deleted_at__isnull=True),
                  user)
    return list(qs.select_related("task") if with_task else qs)


def board_list(*, user=None) -> list[Board]:
    """`user`'s boards (all in open mode) by name, each with its image count (images in the trash left out)."""
    count = Count("entries", filter=Q(entries__image__deleted_at__isnull=True))
    return list(owned_by(Board.objects.all(), user).annotate(count=count).order_by("name", "id"))


def board_get(*, board_id: str, user=None) -> Board:
    """The board, if it is `user`'s; another user's is "not found", like a missing one."""
    board = owned_by(Board.objects.filter(board_id=board_id), user).first() if is_board_id(board_id) else None
    if board is None:
        raise NotFound(_("Board not found."))
    return board


# --- Share links ------------------------------------------------------------------------------------------


def share_list(*, user=None) -> list[ShareLink]:
    return list(owned_by(ShareLink.objects.all(), user).order_by("-created_at", "-id"))


def share_live_count(*, user=None) -> int:
    """How many of `user`'s links work now (neither revoked nor expired)."""
    return owned_by(ShareLink.objects.filter(revoked_at__isnull=True), user).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())).count()


def share_get(*, share_id: str, user=None) -> ShareLink:
    link = owned_by(ShareLink.objects.filter(share_id=share_id), user).first() if is_share_id(share_id) else None
    if link is None:
        raise NotFound(_("Share link not found."))
    return link


def share_target_images(*, kind: str, target_id: str, user=None) -> list[Image]:
    """The images a link to this target shows, as `user` (the link's owner) sees them; NotFound when the
    target is gone (or is not theirs)."""
    if kind == ShareLink.Kind.IMAGE:
        return [generation_selectors.image_get(image_id=target_id, user=user)]
    if kind == ShareLink.Kind.TASK:
        task = generation_selectors.task_get(task_id=target_id, user=user)
        images = list(task.images.all())  # task_get's prefetch: those out of the trash
        for image in images:
            image.task = task  # the page names images by their task's prompt: no query per image
        return images
    board = board_get(board_id=target_id, user=user)
    return list(owned_by(Image.objects.filter(board_entries__board=board, deleted_at__isnull=True), user).select_related("task")
                .order_by("-board_entries__added_at", "-id"))


def share_open(*, token: str, count: bool = False) -> tuple[ShareLink, list[Image]]:
    """The live link with this token and its images; NotFound alike for an unknown, revoked or expired link
    and for one whose target is gone. `count`: this is a view of the page."""
    link = ShareLink.objects.filter(token=token).first() if isinstance(token, str) and 20 <= len(token) <= 64 else None
    if link is None or not link.is_live():
        raise NotFound(_("This link does not exist or no longer works."))
    owner = link.owner if link.owner_id else None
    try:
        images = share_target_images(kind=link.kind, target_id=link.target_id, user=owner)
    except NotFound:
        raise NotFound(_("This link does not exist or no longer works.")) from None
    if count:
        ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1)
    return link, images
