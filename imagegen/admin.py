"""The staff console's frame: its titles, and the audit log (Django's admin log, read-only) where every
staff action is recorded: retries, cancellations, deletions, cleanups and tag changes included."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from generation.cost_admin import warn_about_caps

admin.site.site_header = gettext_lazy("imagegen staff console")
admin.site.site_title = gettext_lazy("imagegen staff console")
admin.site.index_title = gettext_lazy("Tasks, images, tags and the audit log")

_console_index = admin.site.index


def _index_with_spending_warnings(request, extra_context=None):
    """The console's front page, with a warning for each spending cap at 80% or more: the first page staff see."""
    warn_about_caps(request)
    return _console_index(request, extra_context)


admin.site.index = _index_with_spending_warnings


@admin.register(LogEntry)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("action_time", "user", "action", "content_type", "object_link", "message")
    list_filter = ("action_flag", "content_type", ("action_time", admin.DateFieldListFilter))
    list_select_related = ("user", "content_type")
    search_fields = ("object_repr", "change_message", "user__username", "=object_id")
    date_hierarchy = None
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # an audit log is not edited

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and (
            request.user.is_superuser or request.user.has_perm("admin.view_logentry")
        )

    @admin.display(description=gettext_lazy("action"), ordering="action_flag")
    def action(self, obj):
        return obj.get_action_flag_display()

    @admin.display(description=gettext_lazy("object"))
    def object_link(self, obj):
        url = obj.get_admin_url() if obj.action_flag != DELETION else ""  # deleted: no page
        return format_html('<a href="{}">{}</a>', url, obj.object_repr) if url else obj.object_repr

    @admin.display(description=gettext_lazy("change message"))
    def message(self, obj):
        return obj.get_change_message()

from .people import admin as people_admin  # noqa: E402,F401  (quotas, tokens, the staff sign-in)

# --- django-q2's schedules: only the product's own jobs ----------------------------------------------------
# django-q2's admin would let staff schedule any importable callable (os.system included) to run on the
# worker. Schedules here may only name the product's own scheduled jobs, and carry no hook.
SCHEDULABLE_FUNCS = (
    "generation.tasks.recover_tasks",
    "generation.maintenance.cleanup_scheduled",
)


def _schedule_admin():
    from django import forms
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext
    from django_q.admin import ScheduleAdmin
    from django_q.models import Schedule

    class ScheduleForm(forms.ModelForm):
        class Meta:
            model = Schedule
            fields = "__all__"

        def clean_func(self):
            func = (self.cleaned_data.get("func") or "").strip()
            if func not in SCHEDULABLE_FUNCS:
                raise ValidationError(gettext("Only the product's own jobs can be scheduled: %(funcs)s.")
                                      % {"funcs": ", ".join(SCHEDULABLE_FUNCS)})
            return func

        def clean_hook(self):
            if (self.cleaned_data.get("hook") or "").strip():
                raise ValidationError(gettext("Schedules take no hook."))
            return ""

    class SafeScheduleAdmin(ScheduleAdmin):
        form = ScheduleForm

    admin.site.unregister(Schedule)
    admin.site.register(Schedule, SafeScheduleAdmin)


_schedule_admin()

