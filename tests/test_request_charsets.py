"""Finding L5: a JSON body is UTF-8 and nothing else. A charset parameter that names no codec, or names
another one (utf-7, utf-16, unicode_escape), gets invalid_json in the envelope: never a 500, and never a
prompt smuggled past the filters in another encoding."""

from __future__ import annotations

import pytest

from generation.models import GenerationTask as Task


@pytest.mark.parametrize("charset, body", [
    ("undefined", b'{"prompt": "a lighthouse"}'),
    ("utf-7", b'{"prompt": "+ADw-script+AD4-alert(1)+ADw-/script+AD4-"}'),
    ("utf-16", '{"prompt": "a lighthouse"}'.encode("utf-16")),
    ("unicode_escape", b'{"prompt": "\\u003cscript\\u003e"}'),
    ("latin-1", b'{"prompt": "a lighthouse"}'),
])
def test_it_refuses_a_body_in_any_charset_but_utf_8(api, charset, body):
    # generic(): the test client's post() would re-encode the bytes itself.
    response = api.client.generic("POST", "/api/v1/generate", body, content_type=f"application/json; charset={charset}")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_json"
    assert "UTF-8" in response.json()["message"]
    assert not Task.objects.exists()


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_it_accepts_utf_8_however_the_charset_spells_it(api, charset):
    response = api.client.generic("POST", "/api/v1/generate", '{"prompt": "一只猫"}'.encode(),
                                  content_type=f"application/json; charset={charset}")
    assert response.status_code == 201, response.content
    assert Task.objects.get().prompt == "一只猫"
