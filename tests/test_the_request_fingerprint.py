"""The idempotency fingerprint (services.request_fingerprint): sha256 of the body as canonical JSON (keys
sorted, json's default separators, non-ASCII escaped, anything else by its str), so a replay with its keys in
another order or other whitespace is the same request, and any changed value is another."""

import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest

from generation.models import GenerationTask
from generation.services import request_fingerprint

from .conftest import SEED_EXAMPLE


def test_it_is_the_sha256_of_the_body_with_sorted_keys_and_escaped_unicode():
    body = {"prompt": "一只猫", "b": [1, 2.5, None, True], "a": {"z": 1, "y": "é"}}
    canonical = '{"a": {"y": "\\u00e9", "z": 1}, "b": [1, 2.5, null, true], "prompt": "\\u4e00\\u53ea\\u732b"}'
    assert request_fingerprint(body) == hashlib.sha256(canonical.encode("ascii")).hexdigest()


def test_key_order_does_not_change_it_and_any_value_does():
    assert request_fingerprint({"a": 1, "b": {"d": 2, "c": 3}}) == request_fingerprint({"b": {"c": 3, "d": 2}, "a": 1})
    assert request_fingerprint({"a": 1}) != request_fingerprint({"a": 2})
    assert request_fingerprint({"prompt": "猫"}) != request_fingerprint({"prompt": "狗"})


def test_values_json_cannot_write_are_taken_by_their_text():
    canonical = '{"day": "2026-12-06", "price": "0.25"}'
    assert request_fingerprint({"price": Decimal("0.25"), "day": date(2026, 12, 6)}) == hashlib.sha256(
        canonical.encode()).hexdigest()


@pytest.mark.django_db
def test_a_replay_with_other_key_order_and_whitespace_is_the_same_request(api):
    first = api.post("generate", SEED_EXAMPLE, **{"Idempotency-Key": "fp-1"})
    reordered = dict(reversed(list(SEED_EXAMPLE.items())))
    raw = json.dumps(reordered, indent=4, ensure_ascii=False).encode("utf-8")
    again = api.post("generate", raw=raw, **{"Idempotency-Key": "fp-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["task_id"] == first.json()["task_id"]
    assert GenerationTask.objects.count() == 1
