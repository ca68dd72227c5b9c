"""Helpers for the two-factor tests: the code an authenticator app would show."""

from __future__ import annotations

import base64
import time


def key_code(key_base32: str, *, step: int = 0) -> str:
    """The code for a key as the enrolment page shows it (base32), as an app computes it now, or `step`
    time steps (30 s) later: a code is accepted once, and one step either side of now is accepted too."""
    from django_otp.oath import TOTP

    counter = TOTP(base64.b32decode(key_base32), step=30, t0=0, digits=6)
    counter.time = time.time() + 30 * step
    return f"{counter.token():06d}"


def device_code(device, *, step: int = 0) -> str:
    """The code of a django-otp TOTPDevice (its key read from the database)."""
    return key_code(base64.b32encode(device.bin_key).decode("ascii"), step=step)


def enrol(user) -> tuple[object, list[str]]:
    """Two-factor sign-in turned on for `user` (as the account page does): the device and recovery codes."""
    from accounts import services

    device = services.totp_enrolment_start(user=user)
    return device, services.totp_enrolment_confirm(user=user, device=device)
