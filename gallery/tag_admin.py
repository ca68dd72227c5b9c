"""The staff console's tag list: one row per tag name with its usage count; merge, rename and removal, each
through gallery.services and recorded in the admin log."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Min, OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from generation.models import Image, ImageTag

from . import services
from .admin_forms import ConfirmForm, TagTargetForm, log_change, render_action_form


@admin.register(ImageTag)
class TagAdmin(admin.ModelAdmin):
    """Each row stands for one tag name (its oldest image-tag row), with the number of images carrying it."""

    list_display = ("tag_name", "usage", "images_link")
    list_display_links = None
    search_fields = ("tag_name",)
    ordering = ("tag_name",)
    list_per_page = 100
    actions = ["merge_tags", "rename_tag", "remove_everywhere"]

    def get_queryset(self, request):
        first_rows = ImageTag.objects.values("tag_name").annotate(first=Min("id")).values("first")
        usage = (
            ImageTag.objects.filter(tag_name=OuterRef("tag_name"))
            .values("tag_name")
            .annotate(n=Count("id"))
            .values("n")
        )
        return super().get_queryset(request).filter(id__in=Subquery(first_rows)).annotate(usage=Subquery(usage))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Tags change through the actions only; there is no form for a row.
        return obj is None and request.user.has_perm("generation.change_imagetag")

    def has_delete_permission(self, request, obj=None):
        return obj is None and request.user.has_perm("generation.delete_imagetag")

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # would delete one image's row, not the tag
        return actions

    @admin.display(description=gettext_lazy("images"), ordering="usage")
    def usage(self, obj):
        return obj.usage

    @admin.display(description=gettext_lazy("show"))
    def images_link(self, obj):
        url = reverse("admin:generation_image_changelist") + "?" + urlencode({"tag": obj.tag_name})
        return format_html('<a href="{}">{}</a>', url, _("images with this tag"))

    @admin.action(description=gettext_lazy("Merge the selected tags into one"), permissions=["change"])
    def merge_tags(self, request, queryset):
        rows = list(queryset)  # before the merge changes which rows stand for which tag
        names = sorted({row.tag_name for row in rows})
        form = TagTargetForm(request.POST if "apply" in request.POST else None, initial={"target": names[0]})
        if form.is_bound and form.is_valid():
            target = form.cleaned_data["target"]
            moved = services.tag_merge(sources=names, target=target)
            log_change(request, rows, _("Merged %(sources)s into %(target)s") % {
                "sources": ", ".join(names), "target": target})
            self.message_user(request, _("Merged %(sources)s into “%(target)s” (%(count)d images changed).") % {
                "sources": ", ".join(f"“{n}”" for n in names), "target": target, "count": moved,
            }, messages.SUCCESS)
            return None
        return render_action_form(
            self, request, queryset, action="merge_tags", title=_("Merge tags"),
            intro=_("Every image with one of these tags will carry the new name instead."),
            form=form, items=names,
        )

    @admin.action(description=gettext_lazy("Rename the selected tag"), permissions=["change"])
    def rename_tag(self, request, queryset):
        rows = list(queryset)
        names = sorted({row.tag_name for row in rows})
        if len(names) != 1:
            self.message_user(request, _("Select exactly one tag to rename (or merge several)."), messages.WARNING)
            return None
        form = TagTargetForm(request.POST if "apply" in request.POST else None, initial={"target": names[0]})
        if form.is_bound and form.is_valid():
            target = form.cleaned_data["target"]
            moved = services.tag_rename(old=names[0], new=target)
            log_change(request, rows, _("Renamed %(old)s to %(new)s") % {"old": names[0], "new": target})
            self.message_user(request, _("Renamed “%(old)s” to “%(new)s” (%(count)d images changed).") % {
                "old": names[0], "new": target, "count": moved,
            }, messages.SUCCESS)
            return None
        return render_action_form(
            self, request, queryset, action="rename_tag", title=_("Rename a tag"),
            intro=_("If an image already has the new name, the two become one."), form=form, items=names,
        )

    @admin.action(description=gettext_lazy("Remove the selected tags from every image"), permissions=["delete"])
    def remove_everywhere(self, request, queryset):
        rows = list(queryset)
        names = sorted({row.tag_name for row in rows})
        form = ConfirmForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            images = Image.objects.filter(tags__tag_name__in=names).distinct()
            log_change(request, rows, _("Removed %(tags)s from every image") % {"tags": ", ".join(names)})
            count = services.tags_remove(images=images, names=names)
            self.message_user(request, ngettext(
                "%(count)d tag removed.", "%(count)d tags removed.", count,
            ) % {"count": count}, messages.SUCCESS)
            return None
        return render_action_form(
            self, request, queryset, action="remove_everywhere", title=_("Remove tags"),
            intro=_("These tags will be removed from every image that has them. The images stay."),
            form=form, items=names,
        )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": _("Tags"), **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        row = ImageTag.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        target = reverse("admin:generation_image_changelist")
        if row is not None:
            target += "?" + urlencode({"tag": row.tag_name})
        return HttpResponseRedirect(target)
