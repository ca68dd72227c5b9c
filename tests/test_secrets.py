"""Configured secrets never show: error pages and error reports, engine failures, check_engine's output.

The suite-wide guard (tests/secrets_guard.py) watches every response and log line of every test; these
tests provoke the places where secrets usually escape and also look at what the guard cannot see (the
error e-mail to ADMINS, a command's output)."""

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from .secrets_guard import guard
from .volcengine_server import FakeVolcEngine

pytestmark = pytest.mark.django_db

AK, SK = "AKLTsecretsguardtest", "secrets-guard-test-secret-key"
BROKER_PASSWORD = "broker-password-never-shown"


@pytest.fixture
def configured(settings):
    """Every kind of secret the app can be given, with values no page would contain by chance."""
    settings.VOLC_ACCESSKEY, settings.VOLC_SECRETKEY = AK, SK
    settings.IMAGEGEN_METRICS_TOKEN = "metrics-token-never-shown"
    settings.IMAGEGEN_BROKER = f"redis://:{BROKER_PASSWORD}@redis.internal:6379/1"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": settings.IMAGEGEN_BROKER}
    settings.ADMINS = ["ops@example.com"]
    return [settings.SECRET_KEY, AK, SK, "metrics-token-never-shown", BROKER_PASSWORD]


def without_secrets(text, secrets):
    leaked = [s[:4] + "…" for s in secrets if s in text]
    assert not leaked, f"secrets starting with {leaked} are in the text"


def break_views(monkeypatch):
    from generation import list_selectors
    from imagegen import views

    def broken(*args, **kwargs):
        raise RuntimeError("something broke")

    monkeypatch.setattr(list_selectors, "task_list_rows", broken)
    monkeypatch.setattr(views, "_page_config", broken)


def test_the_guard_sees_a_leak_in_a_response_a_log_line_and_a_process_log(tmp_path, settings, client):
    import logging

    seen = len(guard.leaks)
    settings.VOLC_SECRETKEY = SK
    logging.getLogger("imagegen.demo").warning("calling upstream with %s", SK)
    (tmp_path / "web.log").write_text(f"line one\nsigned with {SK}\n")
    guard.scan_files([tmp_path / "web.log"], {"VOLC_SECRETKEY": SK})
    guard.scan(f"<p>{settings.SECRET_KEY}</p>".encode(), "a page")
    found, guard.leaks[seen:] = guard.leaks[seen:], []  # seen here on purpose: not a failure of this test
    assert found == [
        "VOLC_SECRETKEY in a log record of 'imagegen.demo': 'calling upstream with <secret>'",
        f"VOLC_SECRETKEY in {tmp_path / 'web.log'}:2",
        "SECRET_KEY in a page",
    ]


def test_a_500_and_its_error_report_show_no_secret_with_debug_off(configured, settings, monkeypatch):
    settings.DEBUG = False
    break_views(monkeypatch)
    client = Client(raise_request_exception=False)
    api = client.get("/api/v1/tasks")
    page = client.get("/")
    assert api.status_code == page.status_code == 500
    assert api.json()["error"] == "internal_error" and "something broke" not in api.json()["message"]
    for response in (api, page):
        without_secrets(response.content.decode() + str(response.headers), configured)
    assert len(mail.outbox) == 2  # the reports ADMINS get, with the settings in them
    for message in mail.outbox:
        assert "IMAGEGEN_BROKER" in message.body  # the settings are there, cleansed
        without_secrets(message.subject + message.body + "".join(a[0] for a in message.alternatives), configured)


def test_the_debug_page_hides_them_too(configured, settings, monkeypatch):
    settings.DEBUG = True
    break_views(monkeypatch)
    response = Client(raise_request_exception=False).get("/", headers={"Accept": "text/html"})
    assert response.status_code == 500 and b"something broke" in response.content
    without_secrets(response.content.decode(), configured)


@pytest.fixture
def upstream(configured, settings):
    server = FakeVolcEngine(access_key=AK, secret_key=SK).start()
    settings.IMAGEGEN_ENGINE = "volcengine"
    settings.VOLC_HOST, settings.VOLC_SCHEME = server.host, "http"
    settings.IMAGEGEN_RETRY_BASE_DELAY = settings.IMAGEGEN_RETRY_MAX_DELAY = 0.01
    yield server
    server.stop()


def test_an_engine_auth_failure_shows_no_key(api, media, upstream, settings, caplog, configured):
    from .conftest import run

    caplog.set_level("DEBUG")
    settings.VOLC_SECRETKEY = wrong = "a-wrong-secret-key-never-shown"
    task_id = api.generate(prompt="a cat", model="jimeng_t2i_v31", width=512, height=512, steps=None, scale=None,
                           negative_prompt="")
    run(task_id)
    response = api.get(f"task/{task_id}")
    assert response.json()["status"] == "failed" and response.json()["error"]["code"] == "auth_failed"
    for text in (response.content.decode(), caplog.text, api.get("health").content.decode(),
                 api.get("system/info").content.decode()):
        without_secrets(text, [*configured, wrong])


def test_check_engine_prints_no_key_whether_accepted_or_refused(upstream, settings, capsys, configured):
    call_command("check_engine", "--model", "jimeng_t2i_v31")
    settings.VOLC_SECRETKEY = wrong = "a-wrong-secret-key-never-shown"
    with pytest.raises(CommandError) as refused:
        call_command("check_engine", "--model", "jimeng_t2i_v31")
    out = capsys.readouterr()
    without_secrets(out.out + out.err + str(refused.value), [*configured, wrong])


def test_a_whole_api_token_in_a_log_is_a_leak_but_its_prefix_is_not(tmp_path):
    import logging

    seen = len(guard.leaks)
    token = "igt_" + "A1b2_C3d4-" * 4 + "xyz"
    logging.getLogger("imagegen.demo").info("token igt_A1b2C3d4 used")
    logging.getLogger("imagegen.demo").info("authenticating with %s", token)
    (tmp_path / "web.log").write_text(f"ok\nAuthorization: Bearer {token}\n")
    guard.scan_files([tmp_path / "web.log"], {})
    found, guard.leaks[seen:] = guard.leaks[seen:], []
    assert found == ["an API token in a log record of 'imagegen.demo'", f"an API token in {tmp_path / 'web.log'}:2"]
