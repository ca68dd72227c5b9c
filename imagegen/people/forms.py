"""Sign-in forms (the site's and the admin's), limited in failed attempts per client address and per user
name, and the form that names a new API token."""

from __future__ import annotations

import math
import time

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.cache import caches
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework.throttling import BaseThrottle

from accounts import selectors, services
from accounts.services import SecondFactorWait
from core.api.throttling import count, give_back, parse_rate
from core.errors import ApplicationError


def _counters(request, username: str) -> list[str]:
    """The failed-attempt counters of this client address and of this user name."""
    keys = [f"login:address:{BaseThrottle().get_ident(request) or 'unknown'}"]
    username = username.strip().casefold()
    if username:
        keys.append(f"login:username:{username}")
    return keys


class RateLimitedLogin:
    """Limits failed sign-ins (IMAGEGEN_LOGIN_RATE) per client address and per user name, in fixed windows
    (core/api/throttling.py). Each attempt first takes one from both counters atomically, so parallel
    attempts can never check more passwords than the limit allows; a right password gives its count back.
    The counters are taken one after another, so a refused attempt holds no place in any of them.
    Past the limit even the right password is refused until the window ends (so that guessing cannot go on
    by learning which answer would have worked)."""

    def clean(self):
        if not settings.RATELIMIT_ENABLE:
            return super().clean()
        username = self.cleaned_data.get("username") or ""
        limit, period = parse_rate(settings.IMAGEGEN_LOGIN_RATE)
        cache = caches["default"]
        now = time.time()
        keys = _counters(self.request, username)
        minutes = take_attempt(cache, keys, limit=limit, period=period, now=now)
        if minutes:
            raise forms.ValidationError(
                ngettext(
                    "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                    "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
                    minutes,
                ),
                code="rate_limited",
                params={"minutes": minutes},
            )
        cleaned = super().clean()  # a wrong password raises here and keeps its count
        for key in keys:
            give_back(cache, key, period=period, now=now)
        return cleaned


def take_attempt(cache, keys: list[str], *, limit: int, period: int, now: float) -> int:
    """Take one attempt from each counter, one after another. Returns 0 when every counter had room (the
    caller gives them back if the attempt succeeds), else the minutes to wait, having given back what it
    took: a refused attempt checks nothing, so it holds no place in any counter."""
    taken = []
    for key in keys:
        used, end = count(cache, key, period=period, now=now)
        if used <= limit:
            taken.append(key)
            continue
        # A refused attempt checks no password, so it gives back what it took from the counters before
        # this one: counting all counters and then judging let two parallel attempts each be refused by
        # a different counter while each used a place in the other (9 of a limit of 10 checked).
        for earlier in taken:
            give_back(cache, earlier, period=period, now=now)
        # The wait names the latest end among the counters that are full, so it is not an understatement.
        for later in keys[len(taken) + 1:]:
            used_later, end_later = count(cache, later, period=period, now=now, increment=False)
            if used_later >= limit:
                end = max(end, end_later)
        return max(1, math.ceil((end - now) / 60))
    return 0


class LoginForm(RateLimitedLogin, AuthenticationForm):
    pass


class AdminLoginForm(RateLimitedLogin, AdminAuthenticationForm):
    """The admin's own sign-in: staff only (AdminAuthenticationForm), and limited like the site's. It asks
    for no second factor, so a user who needs one is sent to the site's sign-in."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if selectors.second_factor_needed(user=user):
            raise forms.ValidationError(
                _("This account signs in with a second factor: use the site's sign-in page (/login)."),
                code="second_factor")


class SecondFactorForm(forms.Form):
    """The second step of a sign-in: a code from the authenticator app or a recovery code. Failed codes are
    limited (IMAGEGEN_OTP_RATE) per user and per client address, apart from the password's limit and in
    the same way: past the limit even a right code is refused until the window ends."""

    code = forms.CharField(label=_("Code"), max_length=40, strip=True,
                           error_messages={"required": _("Enter the code.")})

    def __init__(self, *args, request, user, check, **kwargs):
        """`check(code)` returns True when the code is right (it verifies a device)."""
        super().__init__(*args, **kwargs)
        self.request, self.user, self.check = request, user, check

    def clean(self):
        cleaned = super().clean()
        code = "".join(str(cleaned.get("code") or "").split())
        if not code:
            return cleaned
        keys = [f"otp:user:{self.user.pk}", f"otp:address:{BaseThrottle().get_ident(self.request) or 'unknown'}"]
        limit, period = parse_rate(settings.IMAGEGEN_OTP_RATE)
        cache, now = caches["default"], time.time()
        limited = settings.RATELIMIT_ENABLE
        minutes = take_attempt(cache, keys, limit=limit, period=period, now=now) if limited else 0
        if minutes:
            raise forms.ValidationError(
                ngettext("Too many wrong codes. Try again in %(minutes)d minute.",
                         "Too many wrong codes. Try again in %(minutes)d minutes.", minutes),
                code="rate_limited", params={"minutes": minutes})
        try:
            right = self.check(code)
        except SecondFactorWait as wait:
            raise forms.ValidationError(
                ngettext("After a wrong code, wait %(seconds)d second before the next.",
                         "After a wrong code, wait %(seconds)d seconds before the next.", wait.seconds),
                code="wait", params={"seconds": wait.seconds}) from None
        if not right:
            raise forms.ValidationError(_("That code is not right (or was used already)."), code="wrong_code")
        if limited:
            for key in keys:
                give_back(cache, key, period=period, now=now)
        return cleaned


class PasswordConfirmForm(forms.Form):
    """The user's own password, asked again before a grave change (erasure, turning two-factor off). Wrong
    passwords count against the sign-in limit of the address and the user name, like at sign-in."""

    password = forms.CharField(label=_("Your password"), strip=False, widget=forms.PasswordInput,
                               error_messages={"required": _("Enter your password.")})

    def __init__(self, *args, user, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.request = user, request

    def clean_password(self):
        password = self.cleaned_data["password"]
        limited = settings.RATELIMIT_ENABLE and self.request is not None
        if limited:
            keys = _counters(self.request, self.user.get_username())
            limit, period = parse_rate(settings.IMAGEGEN_LOGIN_RATE)
            cache, now = caches["default"], time.time()
            minutes = take_attempt(cache, keys, limit=limit, period=period, now=now)
            if minutes:
                raise forms.ValidationError(
                    ngettext("Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                             "Too many failed sign-in attempts. Try again in %(minutes)d minutes.", minutes),
                    code="rate_limited", params={"minutes": minutes})
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."), code="wrong_password")
        if limited:
            for key in keys:
                give_back(cache, key, period=period, now=now)
        return password


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, strip=True,
        help_text=_("Where the token is used, e.g. “laptop script”."),
        error_messages={"required": _("Give the token a name.")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("May"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[("read", _("read")), ("generate", _("generate images")), ("manage", _("change or delete"))],
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires"), required=False, coerce=int, empty_value=None,
        choices=[("", _("does not expire")), ("7", _("in 7 days")), ("30", _("in 30 days")), ("90", _("in 90 days")),
                 ("365", _("in a year"))],
    )
    signature_required = forms.BooleanField(
        label=_("Signed requests only (a signing secret is shown once)"), required=False)
    webhook = forms.CharField(
        label=_("Default webhook (optional)"), required=False, strip=True,
        help_text=_("Tasks this token creates without a webhook of their own send their events here."))

    def clean_webhook(self):
        # The API's own check (POST /api/v1/account/tokens), so the page refuses exactly what the API does.
        try:
            return services.token_webhook_check(self.cleaned_data.get("webhook"))
        except ApplicationError as err:
            raise forms.ValidationError(str(err.message), code="webhook") from None

    def clean_scopes(self):
        # A form sent without any box ticked (or by an older page): every scope, as before.
        return self.cleaned_data.get("scopes") or ["read", "generate", "manage"]


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, limited per client address (IMAGEGEN_PASSWORD_RESET_RATE): each request counts,
    sent or not, so nobody can flood an inbox or probe addresses quickly."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        cleaned = super().clean()
        if settings.RATELIMIT_ENABLE and self.request is not None:
            limit, period = parse_rate(settings.IMAGEGEN_PASSWORD_RESET_RATE)
            key = f"reset:address:{BaseThrottle().get_ident(self.request) or 'unknown'}"
            minutes = take_attempt(caches["default"], [key], limit=limit, period=period, now=time.time())
            if minutes:
                raise forms.ValidationError(
                    ngettext("Too many reset requests. Try again in %(minutes)d minute.",
                             "Too many reset requests. Try again in %(minutes)d minutes.", minutes),
                    code="rate_limited", params={"minutes": minutes})
        return cleaned
