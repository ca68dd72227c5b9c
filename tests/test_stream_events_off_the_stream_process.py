"""The event stream asked of a bare WSGI server (which would hold a thread for the stream's whole life) says
that no stream runs there, in the envelope; imagegen.asgi serves it on the main port instead."""

from __future__ import annotations


def test_it_answers_a_503_in_the_envelope_under_a_bare_wsgi_server(api_zh):
    response = api_zh.get("task/abc/events")
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "stream_unavailable" and body["message"] == "事件流由流式推送进程提供，此处未运行该进程。"
