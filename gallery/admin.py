"""The staff console for images, boards and share links: images with their thumbnail, size, bytes, owning task
and editable tags; bulk add/remove of tags. The tag list (usage counts, merge, rename, removal) is in
tag_admin.py.

Every tag change goes through gallery.services (normalised names, the per-image limit) and is recorded in
the admin log. Image files belong to their task: images are not added or deleted here (delete the task).
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.errors import ValidationFailed
from generation.admin_display import thumbnail_html
from generation.maintenance import format_size
from generation.models import Image, ImageTag

from . import tag_admin  # noqa: F401  (registers the tag list)
from . import services
from .admin_forms import TagNamesField, TagNamesForm, log_change, render_action_form
from .models import Board, ShareLink

IMAGE_ID = re.compile(r"img_[0-9a-fA-F]{32}")

# --- Images -----------------------------------------------------------------------------------------------


class FormatFilter(admin.SimpleListFilter):
    """The stored formats, without a DISTINCT scan of every image row to list them."""

    title = gettext_lazy("format")
    parameter_name = "format"

    def lookups(self, request, model_admin):
        return [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WebP")]

    def queryset(self, request, queryset):
        return queryset.filter(format=self.value()) if self.value() else queryset


class TagFilter(admin.SimpleListFilter):
    title = gettext_lazy("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        # The 30 most used tags; any other works through ?tag=name.
        rows = ImageTag.objects.values("tag_name").annotate(n=Count("id")).order_by("-n", "tag_name")[:30]
        return [(row["tag_name"], f"{row['tag_name']} ({row['n']})") for row in rows]

    def queryset(self, request, queryset):
        return queryset.filter(tags__tag_name=self.value()) if self.value() else queryset


class ImageForm(forms.ModelForm):
    tags = TagNamesField(label=gettext_lazy("Tags"), required=False)

    class Meta:
        model = Image
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags"] = ", ".join(sorted(t.tag_name for t in self.instance.tags.all()))

    def clean_tags(self):
        names = self.cleaned_data["tags"]
        if len(names) > services.MAX_TAGS_PER_IMAGE:
            raise forms.ValidationError(
                _("An image has at most %(max)d tags.") % {"max": services.MAX_TAGS_PER_IMAGE}
            )
        return names


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    form = ImageForm
    list_display = ("preview", "image_id", "dimensions", "format", "file_bytes", "tag_names", "owning_task", "created_at")
    list_display_links = ("preview", "image_id")
    list_filter = (FormatFilter, TagFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("task",)
    search_fields = ("=image_id", "^task__task_id", "task__prompt", "=tags__tag_name")
    search_help_text = gettext_lazy("An image id, a task id (or its beginning), prompt text or a tag.")
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # per-choice counts would scan every image row
    actions = ["add_tags", "remove_tags"]
    fields = (
        "large_preview", "image_id", "owning_task", "prompt", "index", "dimensions", "format", "file_bytes",
        "thumbnail_bytes", "sha256", "seed", "file_path", "thumbnail_path", "created_at", "tags",
    )
    readonly_fields = (
        "large_preview", "image_id", "owning_task", "prompt", "index", "dimensions", "format", "file_bytes",
        "thumbnail_bytes", "sha256", "seed", "file_path", "thumbnail_path", "created_at",
    )

    class Media:
        css = {"all": ["generation/admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def get_search_results(self, request, queryset, search_term):
        # A whole image id is looked up through its unique index instead of scanning every prompt.
        term = search_term.strip()
        if IMAGE_ID.fullmatch(term):
            return queryset.filter(image_id=term.lower()), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # files belong to the task: delete the task

    # -- columns

    @admin.display(description=gettext_lazy("preview"))
    def preview(self, obj):
        return thumbnail_html(obj.image_id, in_trash=obj.deleted_at is not None)

    @admin.display(description=gettext_lazy("preview"))
    def large_preview(self, obj):
        url = reverse("api:image", args=[obj.image_id])
        thumbnail = thumbnail_html(obj.image_id, size=256, in_trash=obj.deleted_at is not None)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, thumbnail)

    @admin.display(description=gettext_lazy("size"))
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"

    @admin.display(description=gettext_lazy("bytes"), ordering="file_size")
    def file_bytes(self, obj):
        return format_size(obj.file_size)

    @admin.display(description=gettext_lazy("thumbnail bytes"))
    def thumbnail_bytes(self, obj):
        return format_size(obj.thumbnail_size)

    @admin.display(description=gettext_lazy("tags"))
    def tag_names(self, obj):
        return ", ".join(t.tag_name for t in obj.tags.all()) or "—"

    @admin.display(description=gettext_lazy("task"), ordering="task__created_at")
    def owning_task(self, obj):
        url = reverse("admin:generation_generationtask_change", args=[obj.task_id])
        return format_html('<a href="{}" title="{}">{}…</a>', url, obj.task.task_id, obj.task.task_id[:8])

    @admin.display(description=gettext_lazy("prompt"))
    def prompt(self, obj):
        return obj.task.prompt

    # -- tags on one image (the change form); the image row itself is never written here

    def save_model(self, request, obj, form, change):
        wanted = set(form.cleaned_data.get("tags") or [])
        present = {t.tag_name for t in obj.tags.all()}
        if present - wanted:
            services.tags_remove(images=[obj], names=present - wanted)
        if wanted - present:
            services.tags_add(images=[obj], names=wanted - present)

    def save_related(self, request, form, formsets, change):
        pass

    # -- bulk tags

    @admin.action(description=gettext_lazy("Add tags to the selected images"), permissions=["change"])
    def add_tags(self, request, queryset):
        return self._bulk_tags(request, queryset, adding=True)

    @admin.action(description=gettext_lazy("Remove tags from the selected images"), permissions=["change"])
    def remove_tags(self, request, queryset):
        return self._bulk_tags(request, queryset, adding=False)

    def _bulk_tags(self, request, queryset, *, adding: bool):
        form = TagNamesForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            names = form.cleaned_data["names"]
            images = list(queryset)
            try:
                if adding:
                    count = services.tags_add(images=images, names=names)
                else:
                    count = services.tags_remove(images=images, names=names)
            except ValidationFailed as err:
                form.add_error("names", err.message)
            else:
                joined = ", ".join(names)
                note = (_("Added tags: %(tags)s") if adding else _("Removed tags: %(tags)s")) % {"tags": joined}
                log_change(request, images, note)
                message = (
                    ngettext("%(count)d tag added.", "%(count)d tags added.", count)
                    if adding
                    else ngettext("%(count)d tag removed.", "%(count)d tags removed.", count)
                )
                self.message_user(request, message % {"count": count}, messages.SUCCESS)
                return None
        return render_action_form(
            self, request, queryset,
            action="add_tags" if adding else "remove_tags",
            title=_("Add tags") if adding else _("Remove tags"),
            intro=ngettext(
                "These tags will be applied to %(count)d image.", "These tags will be applied to %(count)d images.",
                queryset.count(),
            ) % {"count": queryset.count()},
            form=form,
            items=[img.image_id for img in queryset[:20]],
        )


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    """Every user's boards (staff see them all), with their image counts; read-only: boards are their owners'."""

    list_display = ("name", "owner", "image_count", "created_at")
    list_filter = ("owner",)
    search_fields = ("name", "owner__username", "=board_id")
    ordering = ("name",)
    readonly_fields = ("board_id", "owner", "name", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner").annotate(count=Count("entries"))

    @admin.display(description=gettext_lazy("images"), ordering="count")
    def image_count(self, board):
        return board.count

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Every share link, with whose it is, what it shows and how often it was opened; staff can revoke."""

    list_display = ("share_id", "owner", "kind", "target_id", "show_prompt", "is_live_now", "views", "expires_at",
                    "created_at")
    list_filter = ("kind", "show_prompt", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("=share_id", "=target_id", "owner__username")
    readonly_fields = ("share_id", "owner", "kind", "target_id", "show_prompt", "expires_at", "revoked_at",
                       "views", "created_at")
    exclude = ("token",)  # the link itself is its owner's to hand out
    actions = ["revoke_links"]

    @admin.display(description=gettext_lazy("live"), boolean=True)
    def is_live_now(self, link):
        return link.is_live()

    @admin.action(description=gettext_lazy("Revoke the selected share links"))
    def revoke_links(self, request, queryset):
        links = list(queryset.filter(revoked_at__isnull=True))
        for link in links:
            services.share_revoke(link=link)
            self.log_change(request, link, _("Revoked"))
        self.message_user(request, ngettext("%(count)d link revoked.", "%(count)d links revoked.", len(links))
                          % {"count": len(links)}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False
