"""The TOTP keys and recovery codes django-otp stores as they are (checking them needs the value) are not
shown in the staff console, not even to superusers (OTP_ADMIN_HIDE_SENSITIVE_DATA): a key or a code read
there would let its reader pass the second factor as that user."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_static.models import StaticDevice

from .accounts import accounts, make_user  # noqa: F401  (fixture)
from .two_factor import enrol

pytestmark = pytest.mark.django_db


def test_superusers_see_neither_totp_keys_nor_recovery_codes(accounts, admin_client):
    device, codes = enrol(make_user("alice"))
    static = StaticDevice.objects.get(user__username="alice")
    pages = [admin_client.get(path) for path in (
        "/admin/otp_totp/totpdevice/", f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        "/admin/otp_static/staticdevice/", f"/admin/otp_static/staticdevice/{static.pk}/change/")]
    assert [page.status_code for page in pages] == [200] * 4
    html = "".join(page.content.decode() for page in pages)
    assert device.key not in html
    assert not [code for code in codes if code in html]
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code in (403, 404)
