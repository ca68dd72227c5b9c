"""Finding L4: the WebSocket's Origin check is the HTTP CSRF check's: the page's scheme, host and port must
be the request's own (or a CSRF_TRUSTED_ORIGINS entry). Another port or scheme of an allowed host is
another site, and is refused before the consumer runs."""

from __future__ import annotations

import pytest

from .stream_inprocess import communicator, receive_json, run

pytestmark = pytest.mark.django_db(transaction=True)


async def connects(**kwargs) -> bool:
    comm = communicator(**kwargs)
    connected, _code = await comm.connect(timeout=10)
    if connected:
        await comm.send_json_to({"type": "subscribe", "task_id": "nothing"})
        assert (await receive_json(comm))["error"] == "not_found"
        await comm.disconnect()
    return connected


@pytest.mark.parametrize("origin", ["https://localhost:1", "http://localhost:1", "https://127.0.0.1:8000",
                                    "http://127.0.0.1:3000", "http://localhost:8000", "null",
                                    "http://evil.example"])
def test_another_port_scheme_or_host_of_an_allowed_host_is_refused(origin):
    assert run(connects(host="127.0.0.1:8000", origin=origin)) is False


def test_the_pages_own_origin_and_clients_without_one_connect():
    assert run(connects(host="127.0.0.1:8000", origin="http://127.0.0.1:8000")) is True
    assert run(connects(host="127.0.0.1:8000")) is True


def test_behind_tls_the_https_origin_of_the_host_connects(settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    assert run(connects(host="localhost", origin="https://localhost", scheme="wss")) is True
    assert run(connects(host="localhost", origin="http://localhost", scheme="wss")) is False


def test_a_trusted_origin_connects(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://studio.example.com"]
    assert run(connects(host="127.0.0.1:8000", origin="https://studio.example.com")) is True
