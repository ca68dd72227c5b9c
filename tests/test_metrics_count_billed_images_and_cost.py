"""/metrics counts the images billed per model and their cost per model and currency, read from the tasks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generation.cost_models import Price
from generation.models import GenerationTask

from .test_metrics import scrape, value

pytestmark = pytest.mark.django_db


def test_billed_images_and_cost_are_counted_per_model(api, settings):
    Price.objects.create(model="jimeng_t2i_v31", price_per_image=Decimal("0.25"), currency="CNY")
    priced = [api.generate(model="jimeng_t2i_v31", num_images=2) for _ in range(2)]
    unpriced = api.generate(num_images=1)
    GenerationTask.objects.filter(task_id__in=priced).update(status="completed", images_billed=2, cost=Decimal("0.5"))
    GenerationTask.objects.filter(task_id=unpriced).update(status="completed", images_billed=1)
    api.generate(model="jimeng_t2i_v31")  # unfinished: nothing billed yet
    families = scrape()
    assert value(families, "imagegen_images_billed", model="jimeng_t2i_v31") == 4
    assert value(families, "imagegen_images_billed", model="high_aes_general_v20") == 1
    assert value(families, "imagegen_cost", model="jimeng_t2i_v31", currency="CNY") == 1.0
    assert value(families, "imagegen_cost", model="high_aes_general_v20") is None
