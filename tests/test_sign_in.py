"""Accounts mode: pages need a signed-in user (else the sign-in page), the API answers 401 in the envelope;
sign-in and sign-out work, failed sign-ins are limited per address and per user name; open mode asks for
nothing."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from .accounts import PASSWORD, accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE, Api

pytestmark = pytest.mark.django_db

API_CALLS = [
    ("get", "tasks"), ("get", "task/0f9e1c9e-0000-4000-8000-000000000000"), ("get", "history"), ("get", "images"),
    ("get", "tags"), ("get", "models"), ("get", "account"), ("get", "account/tokens"), ("get", "system/info"),
    ("get", "images/zip?ids=img_x"), ("get", "images/img_x"), ("get", "images/img_x/thumbnail"),
    ("post", "generate"), ("post", "images/bulk"), ("post", "images/img_x/tags"), ("post", "account/tokens"),
    ("delete", "task/x"), ("delete", "history/x"), ("delete", "images/img_x"), ("delete", "images/img_x/tags/t"),
    ("delete", "account/tokens/1"), ("get", "account/export"), ("post", "account/erase"),
]


@pytest.mark.parametrize("method, path", API_CALLS)
def test_the_api_answers_401_in_the_envelope_to_anyone_not_signed_in(accounts, method, path):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = getattr(client, method)(f"/api/v1/{path}", *(["{}", "application/json"] if method == "post" else []))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] == "not_authenticated"
    assert body["message"] == "Sign in first, or send an API token: Authorization: Bearer <token>."
    assert body["details"] is None


def test_the_401_message_is_translated(accounts):
    body = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/tasks").json()
    assert body["error"] == "not_authenticated"
    assert "登录" in body["message"]


def test_health_schema_and_docs_need_no_sign_in(accounts):
    client = Client()
    assert client.get("/api/v1/health").status_code in (200, 503)
    assert client.get("/api/v1/schema").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize("page", ["/", "/gallery", "/history", "/account"])
def test_pages_send_anyone_not_signed_in_to_the_sign_in_page(accounts, page):
    response = Client().get(page)
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={page}"


def test_the_sign_in_page_signs_in_and_goes_back_where_the_user_was(accounts):
    make_user("alice")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login?next=/gallery")
    assert page.status_code == 200
    assert b'name="password"' in page.content
    response = client.post("/login", {"username": "alice", "password": PASSWORD, "next": "/gallery",
                                      "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302 and response["Location"] == "/gallery"
    assert client.get("/gallery").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 200


def test_a_wrong_password_is_refused_with_a_clear_message(accounts):
    make_user("alice")
    response = Client().post("/login", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_signing_out_takes_a_post_and_ends_the_session(accounts):
    api = signed_in(make_user("alice"))
    assert api.client.get("/logout").status_code == 405  # a link or an image cannot sign anyone out
    assert api.get("tasks").status_code == 200
    response = api.client.post("/logout")
    assert response.status_code == 302 and response["Location"] == "/login"
    assert api.get("tasks").status_code == 401


def test_a_deactivated_user_is_shut_out(accounts):
    user = make_user("alice")
    api = signed_in(user)
    user.is_active = False
    user.save()
    assert api.get("tasks").status_code == 401
    assert api.client.get("/").status_code == 302


@pytest.fixture
def login_limit(accounts, settings):
    cache.clear()
    settings.IMAGEGEN_LOGIN_RATE = "3/15m"
    yield
    cache.clear()


def attempt(client, username, password):
    return client.post("/login", {"username": username, "password": password})


def test_failed_sign_ins_are_limited_per_user_name(login_limit):
    make_user("alice")
    for n in range(3):
        client = Client(REMOTE_ADDR=f"10.0.0.{n}")  # a different address each time
        assert attempt(client, "alice", "wrong").status_code == 200
    refused = attempt(Client(REMOTE_ADDR="10.0.1.1"), "Alice ", PASSWORD)  # even the right password, any spelling
    assert refused.status_code == 429
    # The window has a fixed end (django-ratelimit's), so what is left of it is at most 15 minutes.
    assert re.search(r"Too many failed sign-in attempts\. Try again in ([1-9]|1[0-5]) minutes?\.",
                     refused.content.decode())
    assert "_auth_user_id" not in refused.wsgi_request.session
    # Another user is not affected.
    make_user("bob")
    assert attempt(Client(REMOTE_ADDR="10.0.1.1"), "bob", PASSWORD).status_code == 302


def test_failed_sign_ins_are_limited_per_address(login_limit):
    make_user("bob")
    client = Client(REMOTE_ADDR="10.0.0.7")
    for name in ("a", "b", "c"):
        assert attempt(client, name, "wrong").status_code == 200
    refused = attempt(client, "bob", PASSWORD)
    assert refused.status_code == 429
    assert attempt(Client(REMOTE_ADDR="10.0.0.8"), "bob", PASSWORD).status_code == 302


def test_successful_sign_ins_do_not_use_up_the_limit(login_limit):
    make_user("alice")
    for _ in range(5):
        assert attempt(Client(), "alice", PASSWORD).status_code == 302


def test_the_limit_message_is_translated(login_limit):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(3):
        attempt(client, "alice", "wrong")
    refused = attempt(client, "alice", "wrong")
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.content.decode()


def test_open_mode_asks_for_no_sign_in(db):
    api = Api()
    assert api.get("tasks").status_code == 200
    assert api.post("generate", SEED_EXAMPLE).status_code == 201
    assert Client().get("/").status_code == 200
    assert Client().get("/account").status_code == 404
    assert api.get("account").status_code == 404


def test_open_mode_ignores_bearer_tokens(db):
    api = Api()
    api.client.defaults["HTTP_AUTHORIZATION"] = "Bearer igt_not-a-token"
    assert api.get("tasks").status_code == 200
