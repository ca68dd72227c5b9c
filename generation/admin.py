"""The staff console for generation tasks: list, filter, search, inspect, retry, cancel, delete with files,
clean up, and empty every user's trash. Every change goes through the services (the task row is the source of truth and a worker
may own it), is recorded in the admin log, and nothing here writes a task row directly.

The task page is read-only on purpose: a form saved from a page loaded seconds earlier would overwrite
what a worker wrote since. Retry and cancel are actions, offered on the list and on the task's page.

The list stays fast with many rows: no extra query per row (the thumbnail comes from a subquery), no
second full COUNT(*) (show_full_result_count), filters whose choices need no query, no date hierarchy.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from core.api.clients import client_id
from core.api.throttling import spend
from core.errors import Conflict, SpendingCapReached

from . import cost_admin, maintenance, scheduling, services, trash_selectors, webhook_admin
from .admin_cleanup import CleanupForm
from .admin_display import ImageInline, format_duration, thumbnail_html, timeline
from .admin_filters import EngineFilter, ModelFilter, RetriedFilter, TrashFilter
from .models import FINISHED, UNFINISHED, GenerationTask, Image, Status

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
RETRYABLE = (Status.FAILED, Status.CANCELLED)  # what services.task_retry accepts
# Retry and cancel are offered on the list and on a task's own page.
BOTH = [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]


# --- The task admin ---------------------------------------------------------------------------------------


@admin.register(GenerationTask)
class GenerationTaskAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "short_id",
        "status_label",
        "stage",
        "model",
        "prompt_excerpt",
        "retry_count",
        "duration_display",
        "created_at",
    )
    list_display_links = ("thumbnail", "short_id")
    list_filter = ("status", ModelFilter, EngineFilter, RetriedFilter, TrashFilter,
                   ("created_at", admin.DateFieldListFilter))
    search_fields = ("prompt", "^task_id", "=upstream_request_id", "=upstream_task_id")
    search_help_text = gettext_lazy("Prompt text, a task id (or its beginning), or an upstream request or job id.")
    list_per_page = 50
    list_max_show_all = 200
    show_full_result_count = False  # one COUNT(*) per page, not two
    show_facets = admin.ShowFacets.NEVER  # per-choice counts cost about a second with 100,000 tasks
    # Newest first; the tie-breaker follows the index (SQLite keeps the rowid ascending inside a DESC index),
    # so any page, however deep, is read straight from idx_task_created without sorting 100,000 rows.
    ordering = ("-created_at", "id")
    # Only columns an index can sort: sorting by stage, retries or duration would sort every row.
    sortable_by = ("short_id", "status_label", "model", "created_at")
    actions = ["retry_tasks", "cancel_tasks", "move_to_front", "delete_selected"]
    inlines = [ImageInline, webhook_admin.DeliveryInline]
    fieldsets = (
        (None, {"fields": ("task_id", "status", "stage", "progress", "engine", "timeline")}),
        (gettext_lazy("Request"), {"fields": (
            "prompt", "negative_prompt", "model", "width", "height", "num_images", "steps", "scale", "seed",
            "enhance_prompt", "upstream_width", "upstream_height", "use_sr", "ignored_params", "revised_prompt",
        )}),
        (gettext_lazy("Outcome"), {"fields": (
            "error_code", "error_message", "upstream_error_code", "upstream_request_id", "upstream_task_id",
        )}),
        # What the service billed, and at the price the task recorded when it was made (the price table).
        (gettext_lazy("Cost"), {"fields": ("images_billed", "tokens_billed", "price_per_image", "currency", "cost")}),
        (gettext_lazy("Execution"), {"fields": (
            "attempts", "retry_count", "next_attempt_at", "lease_holder", "lease_expires_at", "enqueued_at",
            "created_at", "started_at", "completed_at", "updated_at", "duration_display", "deleted_at",
        )}),
        (gettext_lazy("Client"), {"classes": ("collapse",), "fields": (
            "owner", "client_id", "idempotency_key", "request_fingerprint",
        )}),
    )
    readonly_fields = ("timeline", "duration_display")

    class Media:
        css = {"all": ["generation/admin.css"]}

    # -- queryset: everything a row shows, in one query

    def get_queryset(self, request):
        first_image = Image.objects.filter(task=OuterRef("pk")).order_by("index").values("image_id")[:1]
        return (
            super()
            .get_queryset(request)
            .defer("negative_prompt", "error_message", "revised_prompt", "ignored_params", "request_fingerprint")
            .annotate(first_image_id=Subquery(first_image))
        )

    def get_object(self, request, object_id, from_field=None):
        # The detail page needs every field (the list defers the long ones).
        return GenerationTask.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None

    def get_search_results(self, request, queryset, search_term):
        # A whole task id is looked up through its unique index instead of scanning every prompt.
        term = search_term.strip()
        if UUID.fullmatch(term):
            return queryset.filter(task_id=term.lower()), False
        return super().get_search_results(request, queryset, search_term)

    # -- permissions: the page is read-only; retry and cancel need the change permission

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def _can_change(self, request) -> bool:
        return request.user.has_perm("generation.change_generationtask")

    def has_retry_permission(self, request):
        return self._can_change(request)

    def has_cancel_permission(self, request):
        return self._can_change(request)

    # -- columns

    @admin.display(description=gettext_lazy("task"), ordering="task_id")
    def short_id(self, obj):
        return format_html('<span title="{}">{}…</span>', obj.task_id, obj.task_id[:8])

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj):
        return format_html('<span class="ig-status ig-status-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description=gettext_lazy("prompt"))
    def prompt_excerpt(self, obj):
        # Prompts are user text: returned as a plain string, so the admin escapes it.
        return Truncator(obj.prompt).chars(60)

    @admin.display(description=gettext_lazy("duration"))
    def duration_display(self, obj):
        took = obj.duration
        return format_duration(took.total_seconds() if took is not None else None)

    @admin.display(description=gettext_lazy("image"))
    def thumbnail(self, obj):
        return thumbnail_html(getattr(obj, "first_image_id", None), size=48, in_trash=obj.deleted_at is not None)

    @admin.display(description=gettext_lazy("timeline"))
    def timeline(self, obj):
        rows = (
            (date_format(timezone.localtime(when), "Y-m-d H:i:s"), label, detail)
            for when, label, detail in timeline(obj)
        )
        summary = _("%(attempts)d engine attempts in the current run; %(retries)d retries in all") % {
            "attempts": obj.attempts, "retries": obj.retry_count,
        }
        return format_html(
            '<ul class="ig-timeline">{}<li>{}</li></ul>',
            format_html_join("", "<li>{} <strong>{}</strong>{}</li>", rows),
            summary,
        )

    # -- retry and cancel

    def _retry(self, request, task) -> bool:
        before = (task.get_status_display(), task.error_code, task.error_message, task.upstream_request_id)
        if not services.task_retry(task=task):
            return False
        note = _("Retried (retry %(count)d); it was %(status)s") % {"count": task.retry_count, "status": before[0]}
        if before[1]:
            note += _(" with %(code)s: %(message)s") % {"code": before[1], "message": before[2][:300]}
        if before[3]:
            note += _(" (upstream request %(request)s)") % {"request": before[3]}
        self.log_change(request, task, note)
        return True

    def _cancel(self, request, task) -> bool:
        if not services.task_cancel(task=task):
            return False
        self.log_change(request, task, _("Cancelled"))
        return True

    @admin.action(
        description=gettext_lazy("Retry the selected failed or cancelled tasks"), permissions=["retry"], location=BOTH,
    )
    def retry_tasks(self, request, queryset):
        # Counted before anything changes: a retried task leaves a status-filtered queryset ("-1 skipped").
        selected = queryset.count()
        done = refused = capped_by = 0
        for task in queryset.filter(status__in=RETRYABLE):
            # A retry is a generation: it spends the staff member's generation budget (README, "Limits").
            wait = None if refused else spend("generation", client_id(request))
            if refused or wait is not None:
                if not refused:
                    self.message_user(request, _(
                        "Not retried: your generation budget is used up. Try again in %(seconds)d s."
                    ) % {"seconds": wait}, messages.WARNING)
                refused += 1
                continue
            try:
                done += self._retry(request, task)
            except SpendingCapReached as capped:  # the same cap refuses the rest: say it once
                if not capped_by:
                    self.message_user(request, _("Not retried: %(reason)s") % {"reason": capped.message},
                                      messages.WARNING)
                capped_by += 1
        refused += capped_by
        skipped = selected - done - refused
        self._report(request, done, ngettext_lazy(
            "%(count)d task queued for another attempt.", "%(count)d tasks queued for another attempt.", "count",
        ), skipped, ngettext_lazy(
            "%(count)d task was skipped: only failed or cancelled tasks can be retried.",
            "%(count)d tasks were skipped: only failed or cancelled tasks can be retried.", "count",
        ))

    @admin.action(
        description=gettext_lazy("Cancel the selected unfinished tasks"), permissions=["cancel"], location=BOTH,
    )
    def cancel_tasks(self, request, queryset):
        selected = queryset.count()  # before: a cancelled task leaves a status-filtered queryset
        done = sum(self._cancel(request, task) for task in queryset.filter(status__in=UNFINISHED))
        skipped = selected - done
        self._report(request, done, ngettext_lazy(
            "%(count)d task cancelled.", "%(count)d tasks cancelled.", "count",
        ), skipped, ngettext_lazy(
            "%(count)d task was skipped: it had already finished.",
            "%(count)d tasks were skipped: they had already finished.", "count",
        ))

    @admin.action(
        description=gettext_lazy("Move the selected waiting tasks to the front of the queue"), permissions=["retry"],
        location=BOTH,
    )
    def move_to_front(self, request, queryset):
        # The last one selected ends up first: each move puts a task ahead of every other waiting one.
        selected = queryset.count()
        done = 0
        for task in queryset.order_by("-created_at"):
            if scheduling.task_move_to_front(task=task):
                self.log_change(request, task, _("Moved to the front of the queue"))
                done += 1
        skipped = selected - done
        self._report(request, done, ngettext_lazy(
            "%(count)d task moved to the front of the queue.", "%(count)d tasks moved to the front of the queue.",
            "count",
        ), skipped, ngettext_lazy(
            "%(count)d task was skipped: only tasks waiting for a worker can be moved.",
            "%(count)d tasks were skipped: only tasks waiting for a worker can be moved.", "count",
        ))

    def _report(self, request, done: int, done_message, skipped: int, skipped_message) -> None:
        """An action's outcome: how many were done (a success), how many skipped and why (a warning). The
        messages are ngettext_lazy with "count" as their number."""
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)
        if skipped:
            self.message_user(request, skipped_message % {"count": skipped}, messages.WARNING)

    # -- delete: always through the service, so the files go with the rows

    @admin.action(description=gettext_lazy("Delete the selected tasks with their files"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        # Django's confirmation page and log entries; the deletion itself is delete_queryset below.
        return admin_actions.delete_selected(self, request, queryset)

    def get_deleted_objects(self, objs, request):
        # A task's images and tags go with it whatever the staff user may do with images directly.
        deletable, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deletable, model_count, set(), protected

    def _delete_task(self, request, task) -> bool:
        if task.status not in FINISHED:
            services.task_cancel(task=task)
        try:
            services.task_delete(task=task)
        except Conflict:
            self.message_user(request, _("Task %(task)s was not deleted: it started again meanwhile.")
                              % {"task": task.task_id}, messages.WARNING)
            return False
        return True

    def delete_model(self, request, obj):
        self._delete_task(request, obj)

    def delete_queryset(self, request, queryset):
        for task in queryset:
            self._delete_task(request, task)

    # -- the cleanup page

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("cleanup/", self.admin_site.admin_view(self.cleanup_view), name="%s_%s_cleanup" % info),
            path("trash/", self.admin_site.admin_view(self.trash_view), name="%s_%s_trash" % info),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        cost_admin.warn_about_caps(request)  # the page staff visit most
        extra = {"can_cleanup": self.has_delete_permission(request), "can_empty_trash": self.has_delete_permission(request)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def cleanup_view(self, request):
        if not self.has_delete_permission(request):
            raise PermissionDenied
        defaults = maintenance.CleanupPolicy.from_settings()
        initial = {
            "older_than_days": defaults.older_than_days,
            "keep_latest": defaults.keep_latest,
            "max_size": settings.IMAGEGEN_CLEANUP_MAX_SIZE,
            "files": True,
            "grace_hours": defaults.grace_hours,
        }
        form = CleanupForm(request.POST or None, initial=initial)
        plan = None
        if request.method == "POST" and form.is_valid():
            plan = maintenance.cleanup_plan(policy=form.policy())
            # Deleting needs a preview of exactly these settings first.
            if "apply" in request.POST and request.POST.get("previewed") == plan.policy.describe():
                report = maintenance.cleanup_apply(plan=plan)
                self._log_cleanup(request, plan, report)
                self.message_user(request, _(
                    "Cleanup done: %(tasks)d tasks deleted, %(files)d orphan files and %(rows)d image rows with "
                    "missing files removed, %(thumbs)d thumbnails rebuilt; %(freed)s freed."
                ) % {
                    "tasks": len(report.deleted_tasks), "files": report.removed_files, "rows": report.removed_rows,
                    "thumbs": report.rebuilt_thumbnails, "freed": maintenance.format_size(report.freed_bytes),
                }, messages.SUCCESS)
                if report.skipped:
                    self.message_user(request, ngettext(
                        "%(count)d item was skipped because it changed meanwhile.",
                        "%(count)d items were skipped because they changed meanwhile.", len(report.skipped),
                    ) % {"count": len(report.skipped)}, messages.WARNING)
                return HttpResponseRedirect(reverse("admin:generation_generationtask_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Clean up tasks and files"),
            "opts": self.opts,
            "form": form,
            "adminform": admin.helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
            "plan": plan,
            "sample": 20,
            "stored": maintenance.format_size(plan.stored_bytes) if plan else "",
            "task_bytes": maintenance.format_size(plan.task_bytes) if plan else "",
            "orphan_bytes": maintenance.format_size(plan.orphan_bytes) if plan else "",
        }
        return TemplateResponse(request, "admin/generation/generationtask/cleanup.html", context)

    def _log_cleanup(self, request, plan, report) -> None:
        message = _("Deleted by the cleanup (%(policy)s)") % {"policy": plan.policy.describe()}
        if report.deleted_tasks:
            LogEntry.objects.log_actions(
                user_id=request.user.pk, queryset=report.deleted_tasks, action_flag=DELETION, change_message=message
            )
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=ContentType.objects.get_for_model(GenerationTask),
            object_id=None,
            object_repr=_("Cleanup")[:200],
            action_flag=CHANGE,
            change_message=_("Cleanup (%(policy)s): %(summary)s") % {
                "policy": plan.policy.describe(), "summary": report.summary(),
            },
        )


    # -- every user's trash

    def trash_view(self, request):
        """What is in the trash (every user's), and "Empty the trash": all of it deleted for good, at once."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            emptied = services.trash_empty(user=None)
            LogEntry.objects.create(
                user_id=request.user.pk, content_type=ContentType.objects.get_for_model(GenerationTask),
                object_id=None, object_repr=_("Trash")[:200], action_flag=DELETION,
                change_message=_("Emptied the trash of every user: %(tasks)d tasks and %(images)d images deleted "
                                 "for good") % emptied,
            )
            self.message_user(request, _("The trash is empty: %(tasks)d tasks and %(images)d images deleted for good.")
                              % emptied, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:generation_generationtask_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Empty the trash"),
            "opts": self.opts,
            "tasks": trash_selectors.trash_tasks().count(),
            "images": trash_selectors.trash_images().count(),
            "days": settings.IMAGEGEN_TRASH_DAYS,
        }
        return TemplateResponse(request, "admin/generation/generationtask/trash.html", context)
