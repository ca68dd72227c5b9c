"""The staff console's price table and spending caps (issue 22, item 3), and the spending overview: daily
totals with a chart, every cap with what is left, and a warning at 80% of a cap."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext as _

from . import cost_chart, spending
from .cost_models import Price, SpendingCap


def warn_about_caps(request) -> None:
    """Put a console warning for each cap at 80% or more (the task list and the price table show them).
    Only on a GET: an action's POST redirects to a GET, which would add each warning a second time."""
    if request.method != "GET":
        return
    for row in spending.warnings():
        who = _(" (user %(user)s)") % {"user": row["user"]} if row.get("user") else ""
        messages.warning(request, _("Spending: %(cap)s%(who)s is %(used)s used, %(left)s left; it resets at "
                                    "%(resets_at)s UTC.") % {
            "cap": row["label"], "who": who, "used": f"{row['used'].normalize():f}",
            "left": f"{row['remaining'].normalize():f}", "resets_at": row["resets_at"].strftime("%Y-%m-%d %H:%M")})


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("model", "price_per_image", "currency", "updated_at")
    search_fields = ("model",)
    change_list_template = "admin/generation/price/change_list.html"

    def changelist_view(self, request, extra_context=None):
        warn_about_caps(request)
        caps = spending.usage(spending.site_caps(), for_staff=True)
        for row in SpendingCap.objects.select_related("user").order_by("user__username"):
            caps += [{**cap, "user": row.user.get_username()}
                     for cap in spending.usage(spending.caps_of(row), user=row.user, for_staff=True)]
        extra = {"cost_chart": cost_chart.chart(spending.daily_totals()), "spending_caps": caps}
        return super().changelist_view(request, {**extra, **(extra_context or {})})


@admin.register(SpendingCap)
class SpendingCapAdmin(admin.ModelAdmin):
    list_display = ("user", "daily_images", "monthly_images", "daily_money", "monthly_money", "currency",
                    "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    ordering = ("user__username",)
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return ("user",) if obj is not None else ()
