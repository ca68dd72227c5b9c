"""The task list's filters in the staff console. Their choices need no query, so the list stays fast."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from .catalogue import all_models


class ModelFilter(admin.SimpleListFilter):
    title = gettext_lazy("model")
    parameter_name = "model"

    def lookups(self, request, model_admin):
        return [(m.id, m.id) for m in all_models()]

    def queryset(self, request, queryset):
        return queryset.filter(model=self.value()) if self.value() else queryset


class EngineFilter(admin.SimpleListFilter):
    title = gettext_lazy("engine")
    parameter_name = "engine"

    def lookups(self, request, model_admin):
        return [("volcengine", gettext_lazy("VolcEngine")), ("preview", gettext_lazy("Preview (offline)"))]

    def queryset(self, request, queryset):
        return queryset.filter(engine=self.value()) if self.value() else queryset


class RetriedFilter(admin.SimpleListFilter):
    title = gettext_lazy("retried")
    parameter_name = "retried"

    def lookups(self, request, model_admin):
        return [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(retry_count__gt=0)
        if self.value() == "no":
            return queryset.filter(retry_count=0)
        return queryset


class TrashFilter(admin.SimpleListFilter):
    title = gettext_lazy("in the trash")
    parameter_name = "trash"

    def lookups(self, request, model_admin):
        return [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset
