"""Spending caps (issue 22, item 3): images billed and money, per UTC day and per UTC month, site-wide
(settings IMAGEGEN_CAP_*) and per user (cost_models.SpendingCap, accounts mode).

How a cap counts: the tasks created (or retried by staff) in its period (generation/counted.py), except
failed ones (nothing billed) and those cancelled before a worker started them (nothing asked of the service). A finished task counts what it was billed
(images_billed, cost); an unfinished one counts in full what it may be billed (num_images at its recorded
price), so what is already promised can never pass a cap once it is billed either.

The check runs in the transaction that creates the task(s), before anything is queued, so a refused task
never reaches the image service. Concurrent creations are serialised: SQLite's transactions are IMMEDIATE;
on PostgreSQL a transaction-scoped advisory lock per cap scope (the site, a user) is taken first."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.errors import SpendingCapReached

from . import counted
from .cost_models import Price, SpendingCap
from .counted import counted_tasks
from .models import GenerationTask, Status

# Share of a cap at which staff are warned (console, health).
WARN_AT = Decimal("0.8")

MONEY = DecimalField(max_digits=20, decimal_places=6)


@dataclass(frozen=True)
class Cap:
    scope: str  # "site" | "user"
    period: str  # "day" | "month"
    unit: str  # "images" | "money"
    limit: Decimal
    currency: str = ""  # money caps only

    @property
    def key(self) -> str:
        """Its name in error details and health, e.g. site_daily_images, user_monthly_money_CNY."""
        name = f"{self.scope}_{'daily' if self.period == 'day' else 'monthly'}_{self.unit}"
        return f"{name}_{self.currency}" if self.unit == "money" else name

    def label(self, *, for_staff: bool = False) -> str:
        """The cap in words, for messages: a user's own cap is "your …" to them and "the user's …" to staff."""
        whose = self.scope if self.scope == "site" else ("staff" if for_staff else "own")
        labels = {
            ("site", "day", "images"): _("the site's daily cap of %(limit)s"),
            ("site", "month", "images"): _("the site's monthly cap of %(limit)s"),
            ("site", "day", "money"): _("the site's daily spending cap of %(limit)s"),
            ("site", "month", "money"): _("the site's monthly spending cap of %(limit)s"),
            ("own", "day", "images"): _("your daily cap of %(limit)s"),
            ("own", "month", "images"): _("your monthly cap of %(limit)s"),
            ("own", "day", "money"): _("your daily spending cap of %(limit)s"),
            ("own", "month", "money"): _("your monthly spending cap of %(limit)s"),
            ("staff", "day", "images"): _("the user's daily cap of %(limit)s"),
            ("staff", "month", "images"): _("the user's monthly cap of %(limit)s"),
            ("staff", "day", "money"): _("the user's daily spending cap of %(limit)s"),
            ("staff", "month", "money"): _("the user's monthly spending cap of %(limit)s"),
        }
        return labels[(whose, self.period, self.unit)] % {"limit": self.amount_text(self.limit)}

    def amount_text(self, amount) -> str:
        if self.unit == "money":
            return f"{amount.normalize():f} {self.currency}"
        return ngettext("%(n)d image", "%(n)d images", int(amount)) % {"n": int(amount)}


def period_bounds(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current UTC day or month: its start, and when the next begins (when the cap resets)."""
    now = (now or timezone.now()).astimezone(UTC)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def parse_money_caps(text: str) -> dict[str, Decimal]:
    """ "CNY:200,USD:30" -> {"CNY": Decimal("200"), "USD": Decimal("30")} (IMAGEGEN_CAP_*_MONEY)."""
    caps: dict[str, Decimal] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        currency, _sep, amount = part.partition(":")
        currency = currency.strip().upper()
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = Decimal(-1)
        if len(currency) != 3 or not currency.isalpha() or value < 0:
            raise ImproperlyConfigured(f"a money cap must read like CNY:200,USD:30, not {text!r}")
        caps[currency] = value
    return caps


def site_caps() -> list[Cap]:
    caps = []
    for period, images, money in (
        ("day", settings.IMAGEGEN_CAP_DAILY_IMAGES, settings.IMAGEGEN_CAP_DAILY_MONEY),
        ("month", settings.IMAGEGEN_CAP_MONTHLY_IMAGES, settings.IMAGEGEN_CAP_MONTHLY_MONEY),
    ):
        if images is not None:
            caps.append(Cap("site", period, "images", Decimal(images)))
        caps.extend(Cap("site", period, "money", amount, currency)
                    for currency, amount in parse_money_caps(money).items())
    return caps


def user_caps(user) -> list[Cap]:
    row = SpendingCap.objects.filter(user=user).first() if user is not None else None
    return caps_of(row) if row is not None else []


def caps_of(row: SpendingCap) -> list[Cap]:
    """The caps a user's SpendingCap row sets (its empty fields set none)."""
    caps = []
    for period, images, money in (("day", row.daily_images, row.daily_money),
                                  ("month", row.monthly_images, row.monthly_money)):
        if images is not None:
            caps.append(Cap("user", period, "images", Decimal(images)))
        if money is not None:
            caps.append(Cap("user", period, "money", money, row.currency))
    return caps


def caps_for(user) -> list[Cap]:
    return [*site_caps(), *user_caps(user)]


def used(cap: Cap, *, user=None, now: datetime | None = None, excluding: int | None = None) -> Decimal:
    """How much of `cap` its period has used (for a user cap, `user`'s tasks; for a site cap, everyone's),
    leaving out the task whose pk is `excluding` (one being retried: its new run is what is asked)."""
    start, _resets = period_bounds(cap.period, now)
    parts = counted_tasks(since=start, user=user if cap.scope == "user" else None)
    if excluding is not None:
        parts = [part.exclude(pk=excluding) for part in parts]
    if cap.unit == "images":
        total = counted.total(parts, Coalesce("images_billed", "num_images"))
    else:
        promised = ExpressionWrapper(F("num_images") * F("price_per_image"), output_field=MONEY)
        total = counted.total([part.filter(currency=cap.currency) for part in parts],
                              Coalesce("cost", promised, output_field=MONEY), output_field=MONEY)
    return Decimal(total or 0)


def usage(caps: list[Cap], *, user=None, now: datetime | None = None, for_staff: bool = False) -> list[dict]:
    """Each cap with its use, what is left, and when it resets: what the account page, the console and
    health show."""
    return [_row(cap, used(cap, user=user, now=now), now, for_staff=for_staff) for cap in caps]


def _row(cap: Cap, spent: Decimal, now: datetime | None, *, for_staff: bool) -> dict:
    _start, resets_at = period_bounds(cap.period, now)
    return {
        "cap": cap.key, "scope": cap.scope, "period": cap.period, "unit": cap.unit,
        "currency": cap.currency or None, "limit": cap.limit, "used": spent,
        "remaining": max(Decimal(0), cap.limit - spent), "resets_at": resets_at,
        "warning": cap.limit == 0 or spent >= cap.limit * WARN_AT, "label": cap.label(for_staff=for_staff),
    }


def price_of(model: str) -> Price | None:
    return Price.objects.filter(model=model).first()


def _lock(name: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"imagegen-spending:{name}"])


def spending_check(*, user, requested: list[tuple[int, Price | None]], retrying: int | None = None,
                   for_staff: bool = False) -> None:
    """Refuse new tasks that would pass a spending cap. `requested` holds, per task, (images, its price).
    Call inside the creating transaction, before the tasks are made (see the module's note on locking).
    `retrying`: the pk of the one task being run again, which its own request replaces in the count;
    `for_staff`: the refusal names a user's cap as "the user's", for staff acting on their task."""
    caps = caps_for(user)
    if not caps:
        return
    # Always site, then user: every creator takes the locks in the same order, so none wait on each other.
    if any(cap.scope == "site" for cap in caps):
        _lock("site")
    if any(cap.scope == "user" for cap in caps):
        _lock(f"user:{user.pk}")
    images = sum(n for n, _price in requested)
    money: dict[str, Decimal] = {}
    for n, price in requested:
        if price is not None:
            money[price.currency] = money.get(price.currency, Decimal(0)) + n * price.price_per_image
    for cap in caps:
        asked = Decimal(images) if cap.unit == "images" else money.get(cap.currency, Decimal(0))
        if not asked:
            continue
        spent = used(cap, user=user, excluding=retrying)
        if spent + asked <= cap.limit:
            continue
        _start, resets_at = period_bounds(cap.period)
        resets_text = resets_at.isoformat().replace("+00:00", "Z")
        left = max(Decimal(0), cap.limit - spent)
        raise SpendingCapReached(
            _("This request would pass %(cap)s: %(left)s left, and it needs %(asked)s. "
              "The cap resets at %(resets_at)s.") % {
                "cap": cap.label(for_staff=for_staff), "left": cap.amount_text(left), "asked": cap.amount_text(asked),
                "resets_at": resets_text},
            retry_after=math.ceil((resets_at - timezone.now()).total_seconds()),
            details={"cap": cap.key, "scope": cap.scope, "period": cap.period, "unit": cap.unit,
                     "currency": cap.currency or None, "limit": str(cap.limit), "used": str(spent),
                     "remaining": str(left), "requested": str(asked), "resets_at": resets_text},
        )


def warnings(*, now: datetime | None = None) -> list[dict]:
    """The caps at WARN_AT (80%) or more of their limit: the site's, and each user's own (with `user`).
    Health asks on every probe, so the users' use is read in four grouped queries, not a few per user."""
    rows = [row for row in usage(site_caps(), now=now, for_staff=True) if row["warning"]]
    cap_rows = list(SpendingCap.objects.select_related("user").order_by("user__username"))
    if not cap_rows:
        return rows
    owners = [row.user_id for row in cap_rows]
    spent: dict[tuple, Decimal] = {}  # (period, user id, "images" or a currency) -> use
    promised = ExpressionWrapper(F("num_images") * F("price_per_image"), output_field=MONEY)
    for period in ("day", "month"):
        start, _resets = period_bounds(period, now)
        for tasks in counted_tasks(since=start):
            tasks = tasks.filter(owner_id__in=owners)
            for owner, n in tasks.values_list("owner_id").annotate(
                    n=Sum(Coalesce("images_billed", "num_images"))).values_list("owner_id", "n").order_by():
                key = (period, owner, "images")
                spent[key] = spent.get(key, Decimal(0)) + Decimal(n or 0)
            for owner, currency, n in tasks.exclude(currency="").values_list("owner_id", "currency").annotate(
                    n=Sum(Coalesce("cost", promised, output_field=MONEY), output_field=MONEY)
            ).values_list("owner_id", "currency", "n").order_by():
                key = (period, owner, currency)
                spent[key] = spent.get(key, Decimal(0)) + Decimal(n or 0)
    for cap_row in cap_rows:
        for cap in caps_of(cap_row):
            used_now = spent.get((cap.period, cap_row.user_id, cap.currency if cap.unit == "money" else "images"),
                                 Decimal(0))
            if cap.limit == 0 or used_now >= cap.limit * WARN_AT:
                rows.append({**_row(cap, used_now, now, for_staff=True), "user": cap_row.user.get_username()})
    return rows


def daily_totals(*, user=None, days: int = 30, now: datetime | None = None) -> list[dict]:
    """Per UTC day over the last `days` days (oldest first, every day present): images billed and cost per
    currency, of the tasks created (or, for a staff retry, retried) that day (a user's, or everyone's)."""
    today = (now or timezone.now()).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    tasks = GenerationTask.objects.filter(Q(created_at__gte=start) | Q(retried_at__gte=start),
                                         images_billed__isnull=False)
    if user is not None:
        tasks = tasks.filter(owner=user)
    day = TruncDate(Coalesce("retried_at", "created_at"), tzinfo=UTC)
    rows = (tasks.annotate(day=day).values("day", "currency")
            .annotate(images=Sum("images_billed"), cost=Sum("cost")).order_by())
    totals = {first + timedelta(days=n): {"images": 0, "costs": {}} for n in range(days)}
    for row in rows:
        day = totals.get(row["day"])
        if day is None:
            continue
        day["images"] += row["images"] or 0
        if row["currency"] and row["cost"] is not None:
            day["costs"][row["currency"]] = day["costs"].get(row["currency"], Decimal(0)) + row["cost"]
    return [{"day": day, **figures} for day, figures in totals.items()]
