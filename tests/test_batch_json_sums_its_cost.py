"""A batch's JSON says what its tasks cost, per currency: billed so far, and at most (the unbilled ones in
full; a failed task costs nothing)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generation.cost_models import Price
from generation.models import GenerationTask

pytestmark = pytest.mark.django_db


def test_a_batch_sums_billed_and_estimated_cost_per_currency(api):
    Price.objects.create(model="jimeng_t2i_v31", price_per_image=Decimal("0.3"), currency="CNY")
    created = api.post("batches", {"prompt": "a red kite", "variations": 3, "model": "jimeng_t2i_v31"}).json()
    first, second, _third = [t["task_id"] for t in created["tasks"]]
    assert created["costs"] == [{"currency": "CNY", "amount": "0.00", "estimated": "0.90"}]
    GenerationTask.objects.filter(task_id=first).update(status="completed", images_billed=1, cost=Decimal("0.3"))
    GenerationTask.objects.filter(task_id=second).update(status="failed")
    body = api.get(f"batches/{created['batch_id']}").json()
    assert body["costs"] == [{"currency": "CNY", "amount": "0.30", "estimated": "0.60"}]
    task = next(t for t in body["tasks"] if t["task_id"] == first)
    assert task["cost"] == {"price_per_image": "0.30", "currency": "CNY", "amount": "0.30", "estimated": "0.30"}
