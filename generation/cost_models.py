"""What images cost (issue 22, item 3): the price table staff keep, and a user's own spending caps
(accounts mode). The figures each task records (images billed, its price and cost) live on the task itself,
so a later price change never rewrites what an earlier task cost."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

currency_code = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter currency code, such as CNY or USD."))


class Price(models.Model):
    """A model's price per image. Empty by default: a model with no row costs nothing as far as imagegen
    knows, and its tasks record no cost (they still record the images billed)."""

    model = models.CharField(_("model"), max_length=50, unique=True,
                             help_text=_("The catalogue id, e.g. doubao-seedream-4-5-251128 or jimeng_t2i_v40."))
    price_per_image = models.DecimalField(_("price per image"), max_digits=12, decimal_places=6,
                                          validators=[MinValueValidator(0)])
    currency = models.CharField(_("currency"), max_length=3, default="CNY", validators=[currency_code])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "model_prices"
        ordering = ["model"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")

    def __str__(self) -> str:
        return f"{self.model}: {self.price_per_image} {self.currency}"


class SpendingCap(models.Model):
    """A user's own spending caps, per UTC day and per UTC month, in images and in money (in `currency`).
    Empty: no cap of that kind for this user (the site-wide caps, IMAGEGEN_CAP_*, still apply)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="spending_cap", verbose_name=_("user"))
    daily_images = models.PositiveIntegerField(_("images billed per day"), null=True, blank=True)
    monthly_images = models.PositiveIntegerField(_("images billed per month"), null=True, blank=True)
    daily_money = models.DecimalField(_("spending per day"), max_digits=14, decimal_places=4, null=True,
                                      blank=True, validators=[MinValueValidator(0)])
    monthly_money = models.DecimalField(_("spending per month"), max_digits=14, decimal_places=4, null=True,
                                        blank=True, validators=[MinValueValidator(0)])
    currency = models.CharField(_("currency"), max_length=3, default="CNY", validators=[currency_code],
                                help_text=_("The currency of the money caps."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "user_spending_caps"
        verbose_name = _("spending cap")
        verbose_name_plural = _("spending caps")

    def __str__(self) -> str:
        return str(self.user)
