"""Item 4 from the command line: `manage.py create_token` makes the least token a script needs, as the account
page does: scopes, an expiry, a signing secret (printed once, on a second line) or signatures required."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiToken

from .accounts import accounts, make_user, with_token  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE

pytestmark = pytest.mark.django_db


def create_token(*args) -> list[str]:
    out = io.StringIO()
    call_command("create_token", "alice", *args, stdout=out)
    return out.getvalue().split()


def test_a_read_only_token_that_expires(accounts):
    make_user("alice")
    [raw] = create_token("--name", "dashboard", "--scopes", "read", "--expires-in-days", "7")
    token = ApiToken.objects.get()
    assert token.scope_list == ["read"] and not token.signing
    assert 6.9 < (token.expires_at - timezone.now()).total_seconds() / 86400 <= 7
    reader = with_token(raw)
    assert reader.get("tasks").status_code == 200
    assert reader.post("generate", SEED_EXAMPLE).status_code == 403


def test_a_token_that_must_sign_its_requests_comes_with_its_secret(accounts):
    make_user("alice")
    raw, secret = create_token("--scopes", "read,generate", "--signature-required")
    token = ApiToken.objects.get()
    assert token.signing and token.signature_required and token.scope_list == ["read", "generate"]
    assert raw.startswith("igt_") and secret.startswith("igs_")
    assert with_token(raw).get("tasks").status_code == 401  # unsigned


def test_without_options_the_token_may_do_everything_and_never_expires(accounts):
    make_user("alice")
    [_raw] = create_token()
    token = ApiToken.objects.get()
    assert token.scope_list == ["read", "generate", "manage"] and token.expires_at is None


@pytest.mark.parametrize("args, error", [(["--scopes", "admin"], "unknown scope admin"),
                                         (["--scopes", ""], "scopes"),
                                         (["--expires-in-days", "0"], "1 to")])
def test_what_it_cannot_make_is_refused_and_nothing_is_made(accounts, args, error):
    make_user("alice")
    with pytest.raises(CommandError, match=error):
        create_token(*args)
    assert not ApiToken.objects.exists()
