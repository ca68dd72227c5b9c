"""The staff console's webhook delivery log: every delivery with its attempts, and "send again". Signing
secrets are not shown here (nor anywhere after they are made)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from . import webhooks
from .models import WebhookAttempt, WebhookDelivery


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("started_at", "status", "error", "latency_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    """On a task's page: its webhook deliveries."""

    model = WebhookDelivery
    fields = ("delivery_id", "event", "state", "attempts", "last_status", "last_error", "next_attempt_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("delivery_id", "event", "state", "attempts", "last_status", "next_attempt_at", "task_link",
                    "owner", "created_at")
    list_filter = ("state", "event")
    search_fields = ("delivery_id", "task__task_id", "url")
    list_select_related = ("task", "owner")
    readonly_fields = ("delivery_id", "task", "owner", "url", "event", "state", "attempts", "next_attempt_at",
                       "last_status", "last_error", "created_at", "finished_at", "payload")
    exclude = ("lease_holder", "lease_expires_at", "enqueued_at")
    inlines = [AttemptInline]
    actions = ["resend"]
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("task"), ordering="task__task_id")
    def task_link(self, obj):
        return obj.task.task_id

    @admin.action(description=gettext_lazy("Send the selected deliveries again"), permissions=["view"])
    def resend(self, request, queryset):
        done = 0
        for delivery in queryset.exclude(state=WebhookDelivery.State.SENDING):
            webhooks.delivery_resend(delivery=delivery)
            done += 1
        self.message_user(request, ngettext("%(count)d delivery will be sent again.",
                                            "%(count)d deliveries will be sent again.", done) % {"count": done},
                          messages.SUCCESS)
