"""Hostile input, one case each: whatever a client sends, the answer is a clear error in the documented
envelope (in the caller's language), never a 500, and nothing is left half-done (no task row, no file)."""

import io
import re
import urllib.parse
import zipfile

import pytest
from django.test import Client

from generation.models import GenerationTask, Image

from .conftest import SEED_EXAMPLE, files_under, run

pytestmark = pytest.mark.django_db

SMALL = {"model": "jimeng_t2i_v31", "width": 512, "height": 512, "steps": None, "scale": None, "negative_prompt": ""}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def client(language="en"):
    return Client(HTTP_ACCEPT_LANGUAGE=language, raise_request_exception=False)


def refused(response, status, code):
    """The envelope with this status and code, and a message (nothing half-written is checked by callers)."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error", "message", "details"}
    assert body["error"] == code
    assert body["message"]
    return body


def post(raw, *, language="en", path="generate", content_type="application/json"):
    return client(language).post(f"/api/v1/{path}", data=raw, content_type=content_type)


@pytest.fixture
def nothing_lost(media):
    """Asserts, after the test, that no task row and no file was written."""
    yield
    assert GenerationTask.objects.count() == 0
    assert files_under(media) == []


@pytest.fixture
def image(api, media):
    task_id = api.generate(prompt="a quiet harbour at dawn", **SMALL)
    run(task_id)
    return Image.objects.select_related("task").get(task__task_id=task_id)


def test_an_oversized_body_is_a_413_in_both_languages(settings, nothing_lost):
    settings.IMAGEGEN_MAX_BODY_BYTES = 1000
    raw = '{"prompt": "' + "x" * 2000 + '"}'
    assert "1000" in refused(post(raw), 413, "payload_too_large")["message"]
    assert CHINESE.search(refused(post(raw, language="zh-hans"), 413, "payload_too_large")["message"])


def test_deeply_nested_json_is_refused_not_a_500(nothing_lost):
    for raw in ("[" * 20_000 + "]" * 20_000, '{"prompt": ' + '{"a": ' * 5000 + "1" + "}" * 5001):
        assert "nested too deeply" in refused(post(raw), 400, "invalid_json")["message"]
    assert CHINESE.search(refused(post("[" * 20_000, language="zh-hans"), 400, "invalid_json")["message"])


def test_json_nested_as_deep_as_a_request_needs_is_still_read(api):
    assert api.post("generate", {**SEED_EXAMPLE, "prompt": "cat"}).status_code == 201


def test_a_body_that_is_not_utf8_is_refused(nothing_lost):
    raw = b'{"prompt": "\xff\xfe a cat \xc3"}'
    assert "UTF-8" in refused(post(raw), 400, "invalid_json")["message"]
    assert CHINESE.search(refused(post(raw, language="zh-hans"), 400, "invalid_json")["message"])


@pytest.mark.parametrize("character", ["\u0000", "\u0007", "\u001b", "\u0085", "\u202e", "\u202d", "\u2066", "\u2069"])
def test_control_and_direction_override_characters_in_a_prompt_are_refused(character, nothing_lost):
    raw = '{"prompt": "a cat' + character.encode("unicode_escape").decode().replace("\\x", "\\u00") + 'gpj.exe"}'
    body = refused(post(raw), 400, "validation_error")
    assert "prompt" in body["details"]


def test_the_refusal_names_the_characters_in_both_languages(nothing_lost):
    raw = '{"prompt": "invoice\\u202egnp.exe", "negative_prompt": "bell\\u0007"}'
    body = refused(post(raw), 400, "validation_error")
    assert "U+202E" in body["details"]["prompt"][0]
    assert "U+0007" in body["details"]["negative_prompt"][0]
    body = refused(post(raw, language="zh-hans"), 400, "validation_error")
    assert CHINESE.search(body["message"]) and "U+202E" in body["message"]


def test_text_that_only_looks_dangerous_is_kept_exactly_and_served_as_json_text(api):
    prompt = 'a "quoted" <b>bold</b> cat\nsecond line\tשלום\u200f 👩\u200d🎨 & \'friends\''
    task_id = api.generate(prompt=prompt, **SMALL)
    response = api.get(f"task/{task_id}")
    assert response["Content-Type"] == "application/json"
    assert response.json()["prompt"] == prompt
    assert response["X-Content-Type-Options"] == "nosniff"  # JSON text, never sniffed as a page


def test_the_admin_shows_a_prompt_as_text(api, admin_client):
    task_id = api.generate(prompt="<script>alert(1)</script> cat", **SMALL)
    pk = GenerationTask.objects.get(task_id=task_id).pk
    page = admin_client.get(f"/admin/generation/generationtask/{pk}/change/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    "prompt",
    [
        'quote" ; filename="evil.sh',
        "line\r\nSet-Cookie: stolen=1",
        "..\\..\\windows/../../etc/passwd",
        "invoice\u202egnp.exe",  # a row from before prompts were checked, or made in the admin
        "一只可爱的猫咪 🐱 naïve café",
    ],
)
def test_a_download_name_from_any_prompt_is_one_safe_header_and_one_plain_file_name(api, image, prompt):
    GenerationTask.objects.filter(pk=image.task_id).update(prompt=prompt)
    for path in (f"images/{image.image_id}?download=1", f"images/{image.image_id}/thumbnail?download=1"):
        response = api.client.get(f"/api/v1/{path}")
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert not set(disposition) & set("\r\n\0")
        assert "Set-Cookie" not in response.headers or "stolen" not in response["Set-Cookie"]
        assert disposition.startswith("attachment; filename")
        name = _file_name(disposition)
        assert name.startswith("imagegen-") and image.image_id in name
        assert not set(name) & set('/\\"\u202e;') and ".." not in name
        assert name.endswith((".png", ".webp"))


def _file_name(disposition: str) -> str:
    if "filename*=utf-8''" in disposition:
        return urllib.parse.unquote(disposition.split("filename*=utf-8''", 1)[1])
    match = re.fullmatch(r'attachment; filename="([^"\\]*)"', disposition)
    assert match, disposition
    return match[1]


def test_zip_entries_get_the_same_safe_names(api, image):
    GenerationTask.objects.filter(pk=image.task_id).update(prompt="../../etc/passwd\u202e\r\n")
    response = api.get("images/zip", ids=image.image_id)
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert len(names) == 1 and "/" not in names[0] and "\\" not in names[0] and ".." not in names[0]


@pytest.mark.parametrize(
    "size",
    [
        '"width": 1000000, "height": 1000000',
        '"width": 1' + "0" * 100 + ', "height": 1024',
        '"width": 1' + "0" * 5000 + ', "height": 1024',
        '"width": 1e400, "height": 1024',
        '"width": -1024, "height": -1024',
        '"width": 0, "height": 0',
        '"width": 1024.5, "height": 1024',
    ],
)
def test_impossible_sizes_are_refused(size, nothing_lost):
    response = post('{"prompt": "a cat", "model": "jimeng_t2i_v31", ' + size + "}")
    assert response.status_code == 400 and response.json()["error"] in ("validation_error", "invalid_json")
    assert refused(response, 400, response.json()["error"])


@pytest.mark.parametrize("count", ["-1", "0", "5", "99999999999999999999", "1" + "0" * 5000, "1.5", '"2"', "true"])
def test_impossible_image_counts_are_refused(count, nothing_lost):
    response = post('{"prompt": "a cat", "num_images": ' + count + "}")
    assert response.status_code == 400
    assert response.json()["error"] in ("validation_error", "invalid_json") and response.json()["message"]


@pytest.mark.parametrize("endpoint", ["tasks", "history", "images"])
@pytest.mark.parametrize(
    "query,status",
    [
        ("page=-1", 400),
        ("page=0", 400),
        ("page=abc", 400),
        ("page=", 400),
        ("page=" + "9" * 30, 404),
        ("page=" + "9" * 5000, 400),
        ("page_size=-5", 400),
        ("page_size=0", 400),
        ("page_size=" + "9" * 30, 400),
        ("page=1&page_size=1.5", 400),
    ],
)
def test_impossible_pages_are_refused(endpoint, query, status):
    refused(client().get(f"/api/v1/{endpoint}?{query}"), status, "validation_error" if status == 400 else "not_found")
    assert CHINESE.search(client("zh-hans").get(f"/api/v1/{endpoint}?{query}").json()["message"])


FORGED = [
    "..%2F..%2Fimagegen%2Fsettings.py",
    "%2e%2e",
    "..",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5C..%5Cwin.ini",
    "%2Fetc%2Fpasswd",
    "%00",
    "img_%00",
    "IMG_0F0F",
    "a" * 10_000,
    "0f0f0f0f-0000-4000-8000-000000000001",  # a task id where an image id goes
    "img_0f0f0f0f000040008000000000000001%00.png",
    "%F0%28%8C%BC",  # not UTF-8
]


@pytest.mark.parametrize("forged", FORGED)
def test_forged_image_ids_and_paths_are_not_found(api, image, media, forged):
    before = files_under(media)
    for path in (f"images/{forged}", f"images/{forged}/thumbnail", f"images/{forged}?download=1"):
        body = refused(api.client.get(f"/api/v1/{path}"), 404, "not_found")
        assert "root" not in body["message"] and "Traceback" not in body["message"]
    refused(api.client.delete(f"/api/v1/images/{forged}"), 404, "not_found")
    refused(api.client.post(f"/api/v1/images/{forged}/tags", '{"tags": ["x"]}', content_type="application/json"),
            404, "not_found")
    assert files_under(media) == before and Image.objects.filter(pk=image.pk).exists()


@pytest.mark.parametrize("forged", FORGED + [f"{'img_0f0f0f0f000040008000000000000001'}"])
def test_forged_task_ids_are_not_found(api, forged):
    task_id = api.generate(**SMALL)
    for response in (api.client.get(f"/api/v1/task/{forged}"), api.client.delete(f"/api/v1/task/{forged}"),
                     api.client.delete(f"/api/v1/history/{forged}")):
        refused(response, 404, "not_found")
    assert GenerationTask.objects.get(task_id=task_id).status == "pending"


def test_forged_ids_in_bulk_and_zip_are_not_found_and_change_nothing(api, image):
    for ids in (["../../etc/passwd"], ["a" * 36], [image.image_id, "img_" + "0" * 32]):
        body = refused(api.post("images/bulk", {"action": "delete", "image_ids": ids}), 404, "not_found")
        assert image.image_id not in body["details"]["image_ids"]
    refused(api.get("images/zip", ids="../../etc/passwd"), 404, "not_found")
    refused(api.get("images/zip", ids=",,"), 400, "validation_error")
    assert Image.objects.filter(pk=image.pk).exists()


def test_forged_ids_are_not_found_in_chinese_too(api_zh):
    assert CHINESE.search(api_zh.get("images/%2e%2e").json()["message"])
    assert CHINESE.search(api_zh.get("task/%00").json()["message"])


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
     "application/json-patch+json", "text/json"],
)
def test_a_body_that_is_not_json_is_a_415(content_type, nothing_lost):
    raw = '{"prompt": "a cat"}'
    refused(post(raw, content_type=content_type), 415, "unsupported_media_type")
    refused(post(raw, content_type=content_type, path="images/bulk"), 415, "unsupported_media_type")
    assert CHINESE.search(post(raw, content_type=content_type, language="zh-hans").json()["message"])


@pytest.mark.parametrize(
    "raw,words",
    [
        ('{"prompt": "a cat", "prompt": "a dog"}', 'key "prompt" more than once'),
        ('{"prompt": "a cat", "width": NaN, "height": 1024}', "NaN is not a JSON number"),
        ('{"prompt": "a cat", "width": Infinity, "height": 1024}', "Infinity is not a JSON number"),
        ('{"prompt": "a cat", "scale": -Infinity}', "-Infinity is not a JSON number"),
        ('{"prompt": "a cat", "seed": 1' + "0" * 5000 + "}", "number in the request body is too long"),
        ('{"prompt": "a cat",', "not valid JSON (line 1, column 20)"),
    ],
)
def test_json_that_parsers_read_differently_is_refused(raw, words, nothing_lost):
    assert words in refused(post(raw), 400, "invalid_json")["message"]
    assert CHINESE.search(refused(post(raw, language="zh-hans"), 400, "invalid_json")["message"])


@pytest.mark.parametrize("raw", ["[]", '"a cat"', "42", "null", "true", '[{"prompt": "a cat"}]'])
@pytest.mark.parametrize("path", ["generate", "images/bulk"])
def test_a_top_level_that_is_not_an_object_is_refused(raw, path, nothing_lost):
    refused(post(raw, path=path), 400, "validation_error")


def test_huge_integers_anywhere_are_refused(api, image):
    for raw in ('{"prompt": "a cat", "seed": 99999999999999999999999}',
                '{"prompt": "a cat", "steps": -99999999999999999999999}'):
        refused(post(raw), 400, "validation_error")
    refused(post('{"action": "tag", "image_ids": [1' + "0" * 100 + '], "tags": ["x"]}', path="images/bulk"),
            400, "invalid_json")
    assert GenerationTask.objects.count() == 1
