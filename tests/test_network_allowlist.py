"""IP allowlist (item 2): IMAGEGEN_ALLOWED_NETWORKS covers the API, pages, staff console and stream, IPv4
and IPv6, behind IMAGEGEN_NUM_PROXIES proxies; a stricter list guards the staff console; health stays
reachable; a refusal is a 403 in the envelope and an audit record."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.settings import api_settings

from accounts.audit.models import AuditEvent

from .accounts import accounts, make_user  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE
from .stream_inprocess import communicator, receive_json, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def office(settings):
    settings.IMAGEGEN_ALLOWED_NETWORKS = ["192.0.2.0/24", "2001:db8:1::/48"]


def from_(address: str, **extra) -> Client:
    return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en", **extra)


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/", "/gallery", "/admin/", "/api/v1/task/x/events"])
def test_a_client_outside_the_networks_is_refused_everywhere_in_the_envelope(office, path):
    response = from_("203.0.113.5").get(path)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "network_not_allowed" and body["message"]
    [event] = AuditEvent.objects.filter(kind="refused")
    assert (event.ip, event.path, event.status) == ("203.0.113.5", path, 403)


@pytest.mark.parametrize("address", ["192.0.2.77", "2001:db8:1:5::9", "::ffff:192.0.2.8"])
def test_clients_inside_the_networks_ipv4_and_ipv6_get_through(office, address):
    assert from_(address).get("/api/v1/tasks").status_code == 200
    response = from_(address).post("/api/v1/generate", data=json.dumps(SEED_EXAMPLE), content_type="application/json")
    assert response.status_code == 201


def test_health_is_exempt(office):
    assert from_("203.0.113.5").get("/api/v1/health").status_code == 200


def test_behind_a_proxy_the_forwarded_client_address_decides(office, settings):
    settings.IMAGEGEN_NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api_settings.reload()
    try:
        assert from_("127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5").get("/api/v1/tasks").status_code == 403
        # a client cannot put an allowed address in front of its own
        assert from_("127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5").get("/api/v1/tasks").status_code == 403
        assert from_("127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1").get("/api/v1/tasks").status_code == 200
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
        api_settings.reload()


def test_the_staff_console_has_its_own_stricter_list(accounts, settings):
    settings.IMAGEGEN_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    settings.IMAGEGEN_STAFF_ALLOWED_NETWORKS = ["192.0.2.10/32"]
    make_user("carol", staff=True)
    for address, expected in (("192.0.2.10", 200), ("192.0.2.11", 403)):
        client = from_(address)
        client.login(username="carol", password="correct horse battery staple")
        assert client.get("/admin/").status_code == expected, address
        assert client.get("/api/v1/tasks").status_code == 200  # the rest of the site is for the wider list
    assert AuditEvent.objects.filter(kind="refused", path="/admin/", ip="192.0.2.11").count() == 1


def test_the_stream_refuses_a_socket_from_outside_and_records_it(office):
    async def connect(address):
        comm = communicator()
        comm.scope["client"] = (address, 50000)
        connected, _ = await comm.connect()
        if connected:
            await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
            assert (await receive_json(comm))["error"] == "not_found"
            await comm.disconnect()
        return connected

    assert run(connect("203.0.113.5")) is False
    assert run(connect("192.0.2.5")) is True
    assert AuditEvent.objects.filter(kind="refused", ip="203.0.113.5", path="/api/v1/generate/stream").count() == 1


def test_without_a_list_everyone_gets_through():
    assert from_("203.0.113.5").get("/api/v1/tasks").status_code == 200
