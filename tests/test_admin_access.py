"""The staff console is for staff: in accounts mode ordinary users are refused, staff sign in on the
admin's own page, and its failed sign-ins are limited like the site's."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from .accounts import PASSWORD, accounts, make_user, signed_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_a_signed_in_user_who_is_not_staff_is_refused_by_the_admin(accounts):
    api = signed_in(make_user("alice"))
    for path in ("/admin/", "/admin/generation/generationtask/", "/admin/generation/quota/"):
        response = api.client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert b"/admin/" not in api.client.get("/").content  # no Admin link either


def test_the_admin_sign_in_refuses_a_user_who_is_not_staff(accounts):
    make_user("alice")
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert "staff account" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_staff_sign_in_on_the_admin_page_and_use_it(accounts):
    make_user("carol", staff=True)
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "carol", "password": PASSWORD,
                                                          "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/generation/quota/").status_code == 200
    assert client.get("/admin/accounts/apitoken/").status_code == 200
    assert b'href="/admin/"' in client.get("/").content  # and the site links to the console


def test_failed_admin_sign_ins_are_limited(accounts, settings):
    cache.clear()
    settings.IMAGEGEN_LOGIN_RATE = "2/15m"
    make_user("carol", staff=True)
    client = Client()
    for _ in range(2):
        assert client.post("/admin/login/", {"username": "carol", "password": "wrong"}).status_code == 200
    refused = client.post("/admin/login/", {"username": "carol", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in refused.content.decode()
    assert client.get("/admin/").status_code == 302
    cache.clear()


def test_a_user_with_tasks_cannot_be_deleted_only_deactivated(accounts, media):
    from django.db.models import ProtectedError

    user = make_user("alice")
    signed_in(user).generate()
    staff = signed_in(make_user("carol", staff=True)).client
    page = staff.get(f"/admin/auth/user/{user.pk}/delete/")
    assert "would require deleting the following protected related objects" in page.content.decode()
    with pytest.raises(ProtectedError):
        user.delete()
