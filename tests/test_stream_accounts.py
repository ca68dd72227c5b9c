"""Accounts mode on the stream (web, stream and worker as real processes): a socket or event stream needs
a token or a signed-in session, and a user can neither follow nor learn of another user's task."""

from __future__ import annotations

import http.client
import http.cookies
import re
import urllib.parse

import pytest
from websockets.exceptions import ConnectionClosed

from .accounts import PASSWORD, stack_user
from .stream_client import EventStream, Socket, final, stream_stack

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-accounts", static=True, IMAGEGEN_ACCESS="accounts")
    stack.alice = stack_user(stack, "alice")
    stack.bob = stack_user(stack, "bob")
    yield stack
    stack.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def session_cookie(app, username: str) -> str:
    """Sign in through the login page, as a browser does; returns the Cookie header it would send."""
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    jar = http.cookies.SimpleCookie(page.getheader("Set-Cookie"))
    html = page.read().decode()
    assert page.status == 200, (page.status, html[:300])
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
    conn.request("POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={jar['csrftoken'].value}",
        "Referer": f"http://127.0.0.1:{app.port}/login"})
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 302, answer.status
    jar.load(answer.getheader("Set-Cookie"))
    return f"sessionid={jar['sessionid'].value}"


def test_a_socket_without_a_token_or_session_is_told_to_sign_in_and_closed(app):
    with Socket(app.stream_url) as ws:
        message = ws.receive()
        assert message["type"] == "error" and message["error"] == "not_authenticated"
        with pytest.raises(ConnectionClosed) as closed:
            ws.receive()
    assert closed.value.rcvd.code == 4401


def test_a_bad_token_is_refused_in_the_envelope(app):
    with Socket(app.stream_url, **bearer("igt_" + "x" * 43)) as ws:
        assert ws.receive()["error"] == "authentication_failed"


def test_a_user_follows_their_own_task_and_another_user_learns_nothing_of_it(app):
    with Socket(app.stream_url, **bearer(app.alice)) as alice:
        alice.send({"type": "generate", "request_id": "a1", "body": {"prompt": "alice's lighthouse"}})
        created = alice.receive()
        assert created["type"] == "created"
        task_id = created["task"]["task_id"]
        with Socket(app.stream_url, **bearer(app.bob)) as bob:
            bob.send({"type": "subscribe", "task_id": task_id})
            refused = bob.receive()
            assert refused["type"] == "error" and refused["error"] == "not_found" and refused["task_id"] == task_id
        events = EventStream(app.port, task_id, **bearer(app.bob))
        assert events.status == 404 and events.json()["error"] == "not_found"
        messages = alice.until(final)
    assert messages[-2]["type"] == "completed"
    assert messages[-2]["task"]["images"]
    # The owner is the socket's user: the task is Alice's through the API too, and not Bob's.
    assert app.request("GET", f"/api/v1/task/{task_id}", headers=bearer(app.alice))[0] == 200
    assert app.request("GET", f"/api/v1/task/{task_id}", headers=bearer(app.bob))[0] == 404


def test_the_event_stream_needs_a_token_or_session_and_serves_the_owner(app):
    status, created = app.request("POST", "/api/v1/generate", {"prompt": "alice's events"}, headers=bearer(app.alice))
    assert status == 201
    anonymous = EventStream(app.port, created["task_id"])
    assert anonymous.status == 401 and anonymous.json()["error"] == "not_authenticated"
    owner = EventStream(app.port, created["task_id"], **bearer(app.alice))
    assert owner.status == 200
    events = list(owner.events())
    assert events[-1]["event"] == "unsubscribed" and events[-2]["event"] == "completed"


def test_a_signed_in_browser_session_opens_the_socket_as_its_user(app):
    cookie = session_cookie(app, "bob")
    origin = f"http://127.0.0.1:{app.port}"
    with Socket(app.stream_url, Cookie=cookie, origin=origin) as ws:
        ws.send({"type": "generate", "request_id": "b1", "body": {"prompt": "bob's garden"}})
        created = ws.receive()
        assert created["type"] == "created"
        task_id = created["task"]["task_id"]
        ws.until(final)
    assert app.request("GET", f"/api/v1/task/{task_id}", headers=bearer(app.bob))[0] == 200
    assert app.request("GET", f"/api/v1/task/{task_id}", headers=bearer(app.alice))[0] == 404
