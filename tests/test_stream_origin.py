"""Cross-site WebSocket hijacking: a page of another site cannot open the stream in its visitor's browser.
A browser always sends Origin; only the site's own hosts may connect (clients without Origin are not
browsers and may)."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from .stream_client import Socket, stream_stack

pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    stack = stream_stack(tmp_path_factory, "stream-origin")
    yield stack
    stack.close()


@pytest.mark.parametrize("origin", ["http://evil.example", "https://127.0.0.1.evil.example", "null",
                                    "http://localhost:3000", "https://localhost:1"])
def test_a_socket_from_another_site_is_refused(app, origin):
    with pytest.raises(InvalidStatus) as refused:
        Socket(app.stream_url, origin=origin)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", [None, "http://127.0.0.1:{port}"])
def test_the_sites_own_pages_and_non_browser_clients_may_connect(app, origin):
    with Socket(app.stream_url, origin=origin and origin.format(port=app.port)) as ws:
        ws.send({"type": "subscribe", "task_id": "nothing"})
        assert ws.receive()["error"] == "not_found"


def test_a_websocket_on_another_path_is_refused(app):
    with pytest.raises(InvalidStatus):
        Socket(f"ws://127.0.0.1:{app.port}/ws")
