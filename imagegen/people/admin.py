"""Staff console pieces for accounts: per-user quotas (edited here; a raised limit applies to the next
request), API tokens (listed, revocable, never shown), and the admin's rate-limited, staff-only sign-in."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from accounts import services
from accounts.models import ApiToken
from generation import quotas
from generation.models import Quota

from . import personal_data
from .forms import AdminLoginForm
from .views import export_response

admin.site.login_form = AdminLoginForm


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ("user", "daily_images_display", "concurrent_tasks_display", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    ordering = ("user__username",)
    fields = ("user", "daily_images", "max_concurrent_tasks", "usage_today")
    readonly_fields = ("usage_today",)
    raw_id_fields = ("user",)
    list_per_page = 100
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # Which user a quota row belongs to never changes.
        return ("user", *self.readonly_fields) if obj is not None else self.readonly_fields

    @admin.display(description=gettext_lazy("images per day"), ordering="daily_images")
    def daily_images_display(self, obj):
        return obj.daily_images if obj.daily_images is not None else gettext_lazy("default (%(n)d)") % {
            "n": obj.daily_images_limit}

    @admin.display(description=gettext_lazy("concurrent tasks"), ordering="max_concurrent_tasks")
    def concurrent_tasks_display(self, obj):
        if obj.max_concurrent_tasks is not None:
            return obj.max_concurrent_tasks
        return gettext_lazy("default (%(n)d)") % {"n": obj.concurrent_tasks_limit}

    @admin.display(description=gettext_lazy("today"))
    def usage_today(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        usage = quotas.quota_usage(user=obj.user, quota=obj)
        daily, running = usage["daily_images"], usage["concurrent_tasks"]
        return gettext_lazy(
            "%(used)d of %(limit)d images used (resets %(resets_at)s UTC); %(running)d of %(max)d tasks unfinished"
        ) % {"used": daily["used"], "limit": daily["limit"], "resets_at": f"{daily['resets_at']:%Y-%m-%d %H:%M}",
             "running": running["used"], "max": running["limit"]}


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "scopes", "expires_at", "signature_required", "created_at",
                    "last_used_at", "revoked_at")
    list_select_related = ("user",)
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter),
                   "signing", "signature_required")
    search_fields = ("name", "user__username", "=prefix")
    fields = ("name", "user", "prefix", "scopes", "expires_at", "signing", "signature_required", "created_at",
              "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke_tokens"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # a token is made by its user, who alone ever sees it

    def has_change_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.delete_apitoken")

    @admin.action(description=gettext_lazy("Revoke the selected tokens"), permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            services.token_revoke(token=token)
            self.log_change(request, token, gettext_lazy("Revoked"))
        self.message_user(request, ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", len(tokens))
                          % {"n": len(tokens)}, messages.SUCCESS)


# --- Users: a person's data, taken or erased by staff -------------------------------------------------------

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin  # noqa: E402
from django.template.response import TemplateResponse  # noqa: E402

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin, with two actions on a person's data: their archive (one user at a time) and
    erasure with everything of theirs (after a confirmation page). Both are audited."""

    actions = ["export_data", "erase_accounts"]

    @admin.action(description=gettext_lazy("Download the data of the selected user"), permissions=["view"])
    def export_data(self, request, queryset):
        users = list(queryset[:2])
        if len(users) != 1:
            self.message_user(request, gettext_lazy("Choose exactly one user to download their data."),
                              messages.WARNING)
            return None
        self.log_change(request, users[0], gettext_lazy("Data downloaded"))
        return export_response(user=users[0], by=request.user)

    @admin.action(description=gettext_lazy("Erase the selected users with everything of theirs"),
                  permissions=["delete"])
    def erase_accounts(self, request, queryset):
        users = [user for user in queryset if user.pk != request.user.pk]
        if request.POST.get("confirm_erase") == "yes":
            for user in users:
                personal_data.user_erase(user=user, by=request.user)
            self.message_user(request, ngettext("%(n)d user erased with everything of theirs.",
                                                "%(n)d users erased with everything of theirs.", len(users))
                              % {"n": len(users)}, messages.SUCCESS)
            return None
        context = {**self.admin_site.each_context(request), "title": gettext_lazy("Erase users"),
                   "users": users, "opts": self.model._meta,
                   "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME}
        return TemplateResponse(request, "admin/accounts/erase_confirm.html", context)
