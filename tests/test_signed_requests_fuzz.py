"""The signed-request headers fuzzed in accounts mode with a signing token (the schemathesis run is in open
mode, where they are documented but no token reads them): whatever they hold, the answer is a 401 in the
envelope, never a 5xx, and nothing is created."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.services import token_create
from generation.models import GenerationTask

from .accounts import make_user

pytestmark = pytest.mark.django_db

header_text = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300),
    st.integers(min_value=-10**15, max_value=10**15).map(str),
    st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)


@pytest.fixture
def signing_token(settings):
    settings.IMAGEGEN_ACCESS = "accounts"
    return token_create(user=make_user("alice"), name="fuzz", signature_required=True)[1]


@given(timestamp=header_text, nonce=header_text, signature=header_text, method=st.sampled_from(["get", "post"]))
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_signature_headers_get_a_401_envelope_never_a_5xx(signing_token, timestamp, nonce, signature, method):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {signing_token}", HTTP_X_IMAGEGEN_TIMESTAMP=timestamp,
                    HTTP_X_IMAGEGEN_NONCE=nonce, HTTP_X_IMAGEGEN_SIGNATURE=signature)
    if method == "get":
        response = client.get("/api/v1/tasks", {"page": "1"})
    else:
        response = client.post("/api/v1/generate", data='{"prompt": "x"}', content_type="application/json")
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "authentication_failed"
    assert not GenerationTask.objects.exists()
