"""Boards (named collections of images), stars and share links. Image tags are generation's (generation/models.py)."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_board_id() -> str:
    return "board_" + uuid.uuid4().hex


BOARD_ID_PATTERN = r"^board_[0-9a-f]{32}$"
_BOARD_ID = re.compile(BOARD_ID_PATTERN.replace("$", r"\Z"))
MAX_BOARD_NAME = 80


def is_board_id(value) -> bool:
    return isinstance(value, str) and _BOARD_ID.match(value) is not None


class Board(models.Model):
    """A named collection of images (boards are collections; tags stay labels). An image can be on several."""

    board_id = models.CharField(max_length=38, unique=True, default=new_board_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="boards", db_index=False, verbose_name=_("owner"))
    name = models.CharField(_("name"), max_length=MAX_BOARD_NAME)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "boards"
        ordering = ["name"]
        verbose_name = _("board")
        verbose_name_plural = _("boards")
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="uniq_board_name_per_owner"),
            # Open mode has no owner: NULLs are distinct to a unique index, so names are kept unique apart.
            models.UniqueConstraint(fields=["name"], condition=models.Q(owner__isnull=True),
                                    name="uniq_board_name_open_mode"),
        ]

    def __str__(self) -> str:
        return self.name


class BoardImage(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="entries")
    image = models.ForeignKey("generation.Image", on_delete=models.CASCADE, related_name="board_entries")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "board_images"
        verbose_name = _("image on a board")
        verbose_name_plural = _("images on boards")
        constraints = [models.UniqueConstraint(fields=["board", "image"], name="uniq_image_per_board")]
        indexes = [models.Index(fields=["image"], name="idx_board_image_image")]


class Star(models.Model):
    """A starred image (one star per image: an image has one owner)."""

    image = models.OneToOneField("generation.Image", on_delete=models.CASCADE, related_name="star")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="stars", db_index=False, verbose_name=_("owner"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "image_stars"
        verbose_name = _("star")
        verbose_name_plural = _("stars")
        indexes = [models.Index(fields=["owner", "-created_at"], name="idx_star_owner_created")]


def new_share_id() -> str:
    return "share_" + uuid.uuid4().hex


def new_share_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)  # 192 random bits: the link is the only key


SHARE_ID_PATTERN = r"^share_[0-9a-f]{32}$"
_SHARE_ID = re.compile(SHARE_ID_PATTERN.replace("$", r"\Z"))


def is_share_id(value) -> bool:
    return isinstance(value, str) and _SHARE_ID.match(value) is not None


class ShareLink(models.Model):
    """A read-only link to an image, a task or a board, for people without an account. The token in the
    link is the only key; revoking, expiry or the target's deletion ends it at once."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("image")
        TASK = "task", _("task")
        BOARD = "board", _("board")

    share_id = models.CharField(max_length=38, unique=True, default=new_share_id, editable=False)
    token = models.CharField(max_length=64, unique=True, default=new_share_token, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="share_links", db_index=False, verbose_name=_("owner"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    target_id = models.CharField(_("target"), max_length=38)
    show_prompt = models.BooleanField(_("prompt shown"), default=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    views = models.PositiveIntegerField(_("views"), default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "share_links"
        ordering = ["-created_at", "-id"]
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        indexes = [models.Index(fields=["owner", "-created_at"], name="idx_share_owner_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.target_id}"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
