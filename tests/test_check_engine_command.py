"""manage.py check_engine: credentials and model activation, with one free call per model, no secrets."""

import pytest
from django.core.management import CommandError, call_command

from generation.catalogue import all_models

from .ark_server import FakeArk
from .volcengine_server import FakeVolcEngine

pytestmark = pytest.mark.django_db

AK, SK = "AKLTcheckcommand", "check-command-secret"


@pytest.fixture
def upstream(settings):
    server = FakeVolcEngine(access_key=AK, secret_key=SK).start()
    settings.IMAGEGEN_ENGINE = "volcengine"
    settings.VOLC_ACCESSKEY, settings.VOLC_SECRETKEY = AK, SK
    settings.VOLC_HOST, settings.VOLC_SCHEME = server.host, "http"
    yield server
    server.stop()


def run_command(*args):
    from io import StringIO

    out = StringIO()
    call_command("check_engine", *args, stdout=out)
    return out.getvalue()


def test_it_reports_every_model_usable_without_generating_anything(upstream):
    output = run_command()
    assert f"all {len([m for m in all_models() if m.engine == 'volcengine'])} models usable" in output
    assert {r.action for r in upstream.requests} == {"CVSync2AsyncGetResult"}
    assert SK not in output and AK not in output


def test_it_names_a_model_that_is_not_activated(upstream):
    upstream.inject("50400", req_key="jimeng_t2i_v40")
    with pytest.raises(CommandError, match="1 of") as err:
        run_command()
    assert "not activated" in str(err.value) and "activate them" in str(err.value)


def test_it_does_not_ask_to_activate_a_model_that_met_a_rate_limit(upstream):
    upstream.inject("50429", req_key="jimeng_t2i_v40")
    with pytest.raises(CommandError) as err:
        run_command()
    message = str(err.value)
    assert "1 of" in message and "could not be checked" in message and "again later" in message
    assert "activate" not in message


def test_it_stops_at_refused_credentials_without_printing_them(upstream, settings, capsys):
    settings.VOLC_SECRETKEY = "wrong-secret-value"
    with pytest.raises(CommandError, match="credentials were refused") as err:
        run_command("--model", "jimeng_t2i_v31")
    assert "wrong-secret-value" not in str(err.value)


def test_it_says_the_preview_engine_is_in_use(settings):
    settings.IMAGEGEN_ENGINE = "preview"
    assert "preview engine" in run_command()


def test_with_an_ark_key_it_checks_the_key_without_generating_and_probes_no_ark_model(settings):
    key = "ark-check-command-key-0123456789"
    server = FakeArk(api_key=key).start()
    try:
        settings.IMAGEGEN_ENGINE = "auto"
        settings.ARK_API_KEY, settings.ARK_BASE_URL = key, server.base_url
        output = run_command()
        assert "engine: ark" in output and "API key accepted" in output and "not probed" in output
        assert key not in output
        [call] = server.calls()
        assert "prompt" not in call.body and call.status == 400  # nothing was made, nothing billed
        settings.ARK_API_KEY = "ark-a-wrong-key-0123456789"
        with pytest.raises(CommandError, match="auth_failed"):
            run_command()
    finally:
        server.stop()
