"""Finding L6: `adduser --staff` makes an operator, not a superuser; and no one, superusers included, can
schedule an arbitrary callable on the worker through django-q2's schedule admin."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django_q.models import Schedule

from .accounts import PASSWORD, accounts  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def adduser(monkeypatch, *args) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    out = io.StringIO()
    call_command("adduser", *args, "--password-stdin", stdout=out)
    return out.getvalue()


def console(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_adduser_staff_makes_an_operator_who_runs_the_console_but_not_users_or_schedules(monkeypatch, accounts):
    assert "(staff)" in adduser(monkeypatch, "carol", "--staff")
    carol = get_user_model().objects.get(username="carol")
    assert carol.is_staff and not carol.is_superuser
    client = console("carol")
    for path in ("/admin/", "/admin/generation/generationtask/", "/admin/generation/image/", "/admin/generation/quota/",
                 "/admin/accounts/apitoken/", "/admin/admin/logentry/", "/admin/django_q/schedule/"):
        assert client.get(path).status_code == 200, path
    for path in ("/admin/auth/user/", "/admin/auth/user/add/", "/admin/django_q/schedule/add/"):
        assert client.get(path).status_code == 403, path


def test_adduser_superuser_makes_a_superuser(monkeypatch, accounts):
    assert "(superuser)" in adduser(monkeypatch, "root2", "--superuser")
    user = get_user_model().objects.get(username="root2")
    assert user.is_staff and user.is_superuser


def schedule_form(func: str, hook: str = "") -> dict:
    return {"name": "job", "func": func, "hook": hook, "args": "", "kwargs": "", "schedule_type": "D",
            "minutes": "", "repeats": "-1", "next_run_0": "2030-01-01", "next_run_1": "03:30:00", "cron": "",
            "cluster": "", "intended_date_kwarg": ""}


@pytest.mark.parametrize("func, hook", [("os.getcwd", ""), ("subprocess.run", ""),
                                        ("generation.maintenance.cleanup_scheduled", "os.getcwd")])
def test_no_one_can_schedule_an_arbitrary_callable(admin_client, func, hook):
    response = admin_client.post("/admin/django_q/schedule/add/", schedule_form(func, hook))
    assert response.status_code == 200  # the form again, with the error
    assert "errorlist" in response.content.decode()
    assert not Schedule.objects.filter(name="job").exists()


def test_the_products_own_jobs_can_still_be_scheduled(admin_client):
    response = admin_client.post("/admin/django_q/schedule/add/", schedule_form("generation.maintenance.cleanup_scheduled"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Schedule.objects.get(name="job").func == "generation.maintenance.cleanup_scheduled"
