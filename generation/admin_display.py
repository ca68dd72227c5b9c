"""What the task pages of the staff console show beside the row's fields: thumbnails, durations, the task's
images (an inline) and its timeline."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import broker
from .models import GenerationTask, Image, Status


def thumbnail_html(image_id: str | None, *, size: int = 64, in_trash: bool = False):
    if not image_id:
        return "—"
    url = reverse("api:trash-thumbnail" if in_trash else "api:image-thumbnail", args=[image_id])
    return format_html('<img class="ig-thumb" src="{}" alt="" loading="lazy" width="{}" height="{}">', url, size, size)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(seconds).1f s") % {"seconds": seconds}
    minutes, rest = divmod(int(round(seconds)), 60)
    return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest}


# --- The task's images, on its page -----------------------------------------------------------------------


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("preview", "image_id", "index", "dimensions", "format", "file_size", "sha256", "seed", "tag_names")
    readonly_fields = fields
    ordering = ("index",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("preview"))
    def preview(self, obj):
        return thumbnail_html(obj.image_id, size=96, in_trash=obj.deleted_at is not None)

    @admin.display(description=gettext_lazy("size"))
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"

    @admin.display(description=gettext_lazy("tags"))
    def tag_names(self, obj):
        return ", ".join(t.tag_name for t in obj.tags.all()) or "—"


def timeline(task: GenerationTask):
    """(time, what, detail) for the task page: its own timestamps, the queue's records of each worker run
    (django-q2 keeps failures and the latest successes), and the staff actions on it."""
    events = [(task.created_at, _("Created"), "")]
    if task.enqueued_at:
        events.append((task.enqueued_at, _("Enqueued (latest)"), ""))
    runs = broker.run_records(task_id=task.task_id)
    for number, run in enumerate(r for r in runs if r.started):
        took = (run.stopped - run.started).total_seconds() if run.started and run.stopped else None
        outcome = _("returned") if run.success else _("raised an error")
        events.append((run.started, _("Worker run %(n)d") % {"n": number + 1},
                       f" — {outcome}, {format_duration(took)}"))
    if task.started_at:
        events.append((task.started_at, _("Started"), ""))
    if task.error_code and task.status != Status.COMPLETED:
        events.append((task.updated_at, _("Last error"), f" — {task.error_code}: {task.error_message[:300]}"))
    if task.next_attempt_at:
        events.append((task.next_attempt_at, _("Next attempt"), ""))
    content_type = ContentType.objects.get_for_model(GenerationTask)
    for entry in LogEntry.objects.filter(content_type=content_type, object_id=str(task.pk)).select_related("user"):
        events.append((entry.action_time, _("Staff: %(user)s") % {"user": entry.user.get_username()},
                       f" — {entry.get_change_message()}"))
    if task.completed_at:
        events.append((task.completed_at, task.get_status_display(), ""))
    return sorted(events, key=lambda e: e[0])
