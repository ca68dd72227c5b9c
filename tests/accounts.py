"""Helpers for the accounts-mode tests: users, signed-in API clients and token clients."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from generation.models import Quota

from .conftest import Api

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts(settings):
    """Accounts mode for one test."""
    settings.IMAGEGEN_ACCESS = "accounts"


def make_user(username: str, *, staff: bool = False, daily_images=None, max_concurrent_tasks=None):
    user = get_user_model().objects.create_user(
        username, password=PASSWORD, is_staff=staff, is_superuser=staff
    )
    Quota.objects.filter(user=user).update(daily_images=daily_images, max_concurrent_tasks=max_concurrent_tasks)
    return user


def signed_in(user, language: str = "en") -> Api:
    """An API client with the user's browser session."""
    api = Api(language)
    api.client.force_login(user)
    return api


def with_token(raw: str, language: str = "en") -> Api:
    """An API client that sends `Authorization: Bearer <raw>` and no cookies."""
    api = Api(language)
    api.client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return api


def stack_user(stack, username: str, *options: str, password: str = PASSWORD) -> str:
    """A user on a running Stack (made with `manage.py adduser`) and an API token for them."""
    import subprocess
    import sys

    from .stack import ROOT

    def manage(*args, stdin=""):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=stack.env, input=stdin,
                              capture_output=True, text=True, check=True, timeout=120).stdout

    manage("adduser", username, "--password-stdin", *options, stdin=password + "\n")
    return manage("create_token", username, "--name", "tests").strip()
