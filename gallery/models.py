"""Tags on images (the seed's `user_tags` table): one row per (image, tag)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_TAG_LENGTH = 50


class ImageTag(models.Model):
    image = models.ForeignKey("generation.Image", on_delete=models.CASCADE, related_name="tags")
    # The image's owner, copied (accounts mode): one user's tag counts need no join.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="image_tags", db_index=False, verbose_name=_("owner"))
    tag_name = models.CharField(max_length=MAX_TAG_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "user_tags"
        ordering = ["tag_name"]
        verbose_name = _("image tag")
        verbose_name_plural = _("image tags")
        indexes = [
            # The seed's idx_tag_name: filter the gallery and task lists by tag.
            models.Index(fields=["tag_name"], name="idx_tag_name"),
            models.Index(fields=["owner", "tag_name"], name="idx_tag_owner_name"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["image", "tag_name"], name="uniq_tag_per_image"),
        ]

    def __str__(self) -> str:
        return self.tag_name
