"""Reads: a user's tokens and second factors. (Quotas are generation's: generation/quotas.py.)"""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.access import accounts_mode
from core.errors import NotFound

from .models import ApiToken


def token_list(*, user) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-id"))


def token_get(*, user, token_id) -> ApiToken:
    """One of the user's active tokens; another user's, a revoked or an unknown one is a 404 alike."""
    token = None
    if str(token_id).isdigit():
        token = ApiToken.objects.filter(pk=int(token_id), user=user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound(_("API token not found."))
    return token


# --- Two-factor sign-in -----------------------------------------------------------------------------------


def totp_device(*, user, confirmed: bool = True):
    """The user's authenticator (TOTP) device, confirmed or being enrolled; None when there is none."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("id").first()


def two_factor_enabled(*, user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(*, user) -> bool:
    """Staff must sign in with a second factor when IMAGEGEN_STAFF_2FA is set."""
    from django.conf import settings

    return bool(settings.IMAGEGEN_STAFF_2FA and user.is_staff)


def second_factor_needed(*, user) -> bool:
    """A sign-in of this user asks for a second factor: they have one, or must have one (and enrol)."""
    return accounts_mode() and (two_factor_required(user=user) or two_factor_enabled(user=user))


def recovery_codes_left(*, user) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
