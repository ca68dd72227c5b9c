"""Daily totals as a small bar chart drawn on the server (inline SVG in the page: no script, no CDN, and
nothing for the Content-Security-Policy to allow). The account page and the console both draw it."""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

WIDTH, HEIGHT, GAP = 600, 120, 2


def chart(totals: list[dict]) -> dict:
    """Bars for `totals` (spending.daily_totals): the cost in the currency most spent, or, with no cost
    recorded, the images billed. Each bar's title reads the day's figures in words."""
    spent: dict[str, Decimal] = {}
    for day in totals:
        for currency, amount in day["costs"].items():
            spent[currency] = spent.get(currency, Decimal(0)) + amount
    currency = max(spent, key=spent.get) if spent else ""

    def measure(day) -> float:
        return float(day["costs"].get(currency, 0)) if currency else float(day["images"])

    top = max((measure(day) for day in totals), default=0.0) or 1.0
    step = WIDTH / max(len(totals), 1)
    bars = []
    for n, day in enumerate(totals):
        height = round(measure(day) / top * (HEIGHT - 2), 1)
        costs = ", ".join(f"{amount.normalize():f} {c}" for c, amount in sorted(day["costs"].items()))
        words = ngettext("%(n)d image billed", "%(n)d images billed", day["images"]) % {"n": day["images"]}
        bars.append({
            "x": round(n * step, 1), "y": round(HEIGHT - height, 1), "width": round(max(step - GAP, 1), 1),
            "height": height,
            "title": f"{date_format(day['day'], 'SHORT_DATE_FORMAT')}: {words}" + (f", {costs}" if costs else ""),
        })
    return {
        "width": WIDTH, "height": HEIGHT, "bars": bars,
        "unit": currency or _("images"),
        "total_images": sum(day["images"] for day in totals),
        "totals": [{"currency": c, "amount": f"{amount.normalize():f}"} for c, amount in sorted(spent.items())],
        "days": [day for day in reversed(totals) if day["images"] or day["costs"]],
    }
