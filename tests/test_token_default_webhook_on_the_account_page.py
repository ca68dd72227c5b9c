"""A token's default webhook from the account page's token form (README, "Webhooks"): the page takes the
field, stores it as the API does, shows the host in the token list, and refuses exactly what
POST /api/v1/account/tokens refuses, with the same message at the field, in the user's language."""

from __future__ import annotations

import html
import re

import pytest

from accounts.models import ApiToken

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://hooks.example.com/in",  # http, not allowed by default
    "https://10.0.0.1/in",  # a private address
    "https://user:secret@hooks.example.com/in",  # credentials in the URL
    "ftp://hooks.example.com/in",
    "https://hooks.example.com/" + "a" * 2000,  # longer than the field
]


@pytest.fixture
def alice(accounts):
    return make_user("alice")


def field_error(page_html: str) -> str:
    found = re.search(r'<p class="field-error" id="token-webhook-error">(.*?)</p>', page_html, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_the_form_makes_a_token_with_a_default_webhook_and_lists_its_host(alice):
    page = signed_in(alice)
    response = page.client.post("/account/tokens", {"name": "hooked", "scopes": ["read", "generate"],
                                                    "webhook": "  https://hooks.example.com/in?key=s3cret  "})
    assert response.status_code == 200
    token = ApiToken.objects.get(name="hooked")
    assert token.webhook_url == "https://hooks.example.com/in?key=s3cret"  # trimmed, as the API does
    listed = page.get("account/tokens").json()
    assert listed[0]["webhook"] == token.webhook_url
    account = page.client.get("/account").content.decode()
    assert '<span class="token-webhook">webhook to hooks.example.com</span>' in account
    assert "s3cret" not in account  # the path and query may be a receiver's secret
    # Without the field: no default webhook, as in the API.
    page.client.post("/account/tokens", {"name": "plain"})
    assert ApiToken.objects.get(name="plain").webhook_url == ""


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_form_refuses_what_the_api_refuses_with_its_message_at_the_field(alice, language):
    page = signed_in(alice, language)
    for url in REFUSED:
        api = page.post("account/tokens", {"name": "bad", "webhook": url})
        assert api.status_code == 400, url
        expected = api.json()["details"]["webhook"][0]
        response = page.client.post("/account/tokens", {"name": "bad", "webhook": url})
        assert response.status_code == 400, url
        shown = response.content.decode()
        if len(url) <= 2000:  # the API's serializer words its length check in DRF's words
            assert field_error(shown) == expected, url
        else:
            assert field_error(shown), url
        assert 'aria-describedby="token-webhook-help token-webhook-error" aria-invalid="true"' in shown
        assert html.escape(url) in shown  # kept in the field to be corrected
    assert not ApiToken.objects.filter(name="bad").exists()
    if language == "zh-hans":
        assert re.search(r"[\u4e00-\u9fff]", field_error(shown))  # translated


def test_a_bad_name_and_a_bad_webhook_are_both_shown(alice):
    page = signed_in(alice)
    shown = page.client.post("/account/tokens", {"name": "  ", "webhook": "https://10.0.0.1/in"}).content.decode()
    assert 'id="token-name-error"' in shown and field_error(shown).startswith("This webhook URL is not allowed")


def test_an_allowed_network_is_allowed_on_the_page_as_in_the_api(alice, settings):
    settings.IMAGEGEN_WEBHOOK_ALLOW_HTTP = True
    settings.IMAGEGEN_WEBHOOK_ALLOW_NETWORKS = ["10.0.0.0/8"]
    page = signed_in(alice)
    assert page.client.post("/account/tokens", {"name": "inside", "webhook": "http://10.0.0.1/in"}).status_code == 200
    assert ApiToken.objects.get(name="inside").webhook_url == "http://10.0.0.1/in"
