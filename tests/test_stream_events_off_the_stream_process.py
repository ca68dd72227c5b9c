"""The event stream asked of the WSGI server (which would hold a thread for the stream's whole life) sends
the client to the stream process, or says that none runs."""

from __future__ import annotations


def test_the_wsgi_server_redirects_an_event_stream_to_the_stream_port(api, settings):
    settings.IMAGEGEN_STREAM_PORT = 8124
    response = api.client.get("/api/v1/task/abc/events?x=1", HTTP_HOST="localhost:8123")
    assert response.status_code == 307
    assert response["Location"] == "http://localhost:8124/api/v1/task/abc/events?x=1"


def test_without_a_stream_process_the_answer_is_a_503_in_the_envelope(api_zh, settings):
    settings.IMAGEGEN_STREAM_PORT = 0
    response = api_zh.get("task/abc/events")
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "stream_unavailable" and body["message"] == "事件流由流式推送进程提供，此处未运行该进程。"
