"""The access audit log in the staff console: read-only, filterable by kind, status, method and day,
searchable by user, token prefix, address, path and object id."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "who", "ip", "method", "path", "object_id", "status")
    list_filter = ("kind", "status", "method", ("at", admin.DateFieldListFilter))
    search_fields = ("username", "=token_prefix", "=ip", "path", "=object_id", "client_id")
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # pruned by retention only

    @admin.display(description=gettext_lazy("who"), ordering="username")
    def who(self, obj):
        who = obj.username or obj.client_id or "-"
        return f"{who} ({obj.token_prefix}…)" if obj.token_prefix else who
