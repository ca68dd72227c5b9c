"""Sign-in forms (the site's and the admin's), limited in failed attempts per client address and per user
name, and the form that names a new API token."""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle


def _address(group, request) -> str:
    return BaseThrottle().get_ident(request) or "unknown"


def _username(group, request) -> str:
    return getattr(request, "_login_username", "")


def _usages(request, username: str, *, increment: bool) -> list[dict]:
    """The failed-attempt counters of this client address and of this user name."""
    request._login_username = username.strip().casefold()
    counters = [("login.address", _address)]
    if request._login_username:
        counters.append(("login.username", _username))
    usages = []
    for group, key in counters:
        usage = get_usage(request, group=group, key=key, rate=settings.IMAGEGEN_LOGIN_RATE, increment=increment)
        if usage is not None:
            usages.append(usage)
    return usages


class RateLimitedLogin:
    """Counts failed sign-ins; at the limit, refuses even the right password until the window ends (so
    that guessing cannot go on by learning which answer would have worked)."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        exhausted = [u for u in _usages(self.request, username, increment=False) if u["count"] >= u["limit"]]
        if exhausted:
            minutes = max(1, math.ceil(max(u["time_left"] for u in exhausted) / 60))
            raise forms.ValidationError(
                ngettext(
                    "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                    "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
                    minutes,
                ),
                code="rate_limited",
                params={"minutes": minutes},
            )
        try:
            return super().clean()
        except forms.ValidationError:
            _usages(self.request, username, increment=True)
            raise


class LoginForm(RateLimitedLogin, AuthenticationForm):
    pass


class AdminLoginForm(RateLimitedLogin, AdminAuthenticationForm):
    """The admin's own sign-in: staff only (AdminAuthenticationForm), and limited like the site's."""


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, strip=True,
        help_text=_("Where the token is used, e.g. “laptop script”."),
        error_messages={"required": _("Give the token a name.")},
    )
