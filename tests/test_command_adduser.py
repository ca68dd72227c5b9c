"""manage.py adduser and create_token: staff make users (with their quotas) and tokens from the shell."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import ApiToken
from generation.models import GenerationTask, Quota

from .accounts import PASSWORD, accounts, with_token  # noqa: F401  (fixture)
from .conftest import Api

pytestmark = pytest.mark.django_db


def adduser(monkeypatch, *args, password=PASSWORD):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command("adduser", *args, "--password-stdin", stdout=out)
    return out.getvalue()


def test_adduser_makes_a_user_who_can_sign_in_with_their_own_quotas(monkeypatch, accounts):
    assert "user alice created" in adduser(monkeypatch, "alice", "--daily-images", "7", "--max-concurrent-tasks", "2")
    user = get_user_model().objects.get(username="alice")
    assert user.check_password(PASSWORD) and not user.is_staff
    quota = Quota.objects.get(user=user)
    assert (quota.daily_images, quota.max_concurrent_tasks) == (7, 2)
    assert Api().client.login(username="alice", password=PASSWORD)


def test_adduser_staff_may_use_the_admin(monkeypatch, accounts):
    adduser(monkeypatch, "carol", "--staff")
    user = get_user_model().objects.get(username="carol")
    assert user.is_staff and not user.is_superuser  # the Operators group's permissions, not all of them
    assert Quota.objects.get(user=user).daily_images is None  # the site default


@pytest.mark.parametrize("password, reason", [("short", "too short"), ("12345678901", "entirely numeric"),
                                              ("password123", "too common")])
def test_adduser_refuses_a_weak_password(monkeypatch, accounts, password, reason):
    with pytest.raises(CommandError, match=reason):
        adduser(monkeypatch, "alice", password=password)
    assert not get_user_model().objects.exists()


def test_adduser_refuses_a_taken_name(monkeypatch, accounts):
    adduser(monkeypatch, "alice")
    with pytest.raises(CommandError, match="already exists"):
        adduser(monkeypatch, "alice")


def test_adduser_can_adopt_what_open_mode_made(monkeypatch, settings, media):
    Api().generate()  # open mode: no owner
    settings.IMAGEGEN_ACCESS = "accounts"
    assert "1 tasks without an owner now belong to alice" in adduser(monkeypatch, "alice", "--adopt-unowned")
    assert GenerationTask.objects.get().owner.username == "alice"


def test_create_token_prints_a_working_token_once(monkeypatch, accounts):
    adduser(monkeypatch, "alice")
    out = io.StringIO()
    call_command("create_token", "alice", "--name", "nightly job", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("igt_")
    assert ApiToken.objects.get().name == "nightly job"
    assert with_token(raw).get("account").json()["username"] == "alice"
    with pytest.raises(CommandError, match="no active user"):
        call_command("create_token", "nobody")
