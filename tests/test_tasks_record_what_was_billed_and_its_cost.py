"""Each task records what the image service billed (images; tokens where Ark reports them) and its cost at
the price its model had when the task was created: a later price change does not rewrite it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generation.cost_models import Price
from generation.engines.base import EngineResult
from generation.engines.preview import PreviewEngine
from generation.models import GenerationTask

from .conftest import run
from .test_ark_engine import KEY, S40, ark  # noqa: F401  (fixture)
from .test_volcengine_engine import upstream  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

MODEL = "high_aes_general_v20"  # the default model


def returned(n_images: int, **billing):
    """A scripted outcome: an engine answer with `n_images` images and the given billing figures."""

    def outcome(request, progress):
        made = PreviewEngine(latency=0).generate(request, progress)
        return EngineResult(images=made.images[:n_images], **billing)

    return outcome


def test_a_cv_style_answer_bills_each_returned_image_at_the_price_in_force(api, media, scripted):
    Price.objects.create(model=MODEL, price_per_image=Decimal("0.2"), currency="CNY")
    scripted(returned(2))
    task_id = api.generate(num_images=2)
    Price.objects.filter(model=MODEL).update(price_per_image=Decimal("9"))  # too late
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.images_billed, task.tokens_billed) == (2, None)
    assert (task.price_per_image, task.currency, task.cost) == (Decimal("0.2"), "CNY", Decimal("0.4"))
    body = api.get(f"task/{task_id}").json()
    assert body["images_billed"] == 2
    assert body["cost"] == {"price_per_image": "0.20", "currency": "CNY", "amount": "0.40", "estimated": "0.40"}


def test_a_model_without_a_price_records_images_but_no_cost(api, media, scripted):
    scripted(returned(1))
    task_id = api.generate()
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.images_billed, task.cost, task.currency) == (1, None, "")
    assert api.get(f"task/{task_id}").json()["cost"] is None


def test_the_preview_engine_bills_nothing(api, media, scripted):
    Price.objects.create(model=MODEL, price_per_image=Decimal("0.2"), currency="CNY")
    scripted("ok")
    task_id = api.generate()
    run(task_id)
    assert GenerationTask.objects.filter(task_id=task_id).values_list("images_billed", "cost").get() == (0, Decimal(0))


def test_ark_records_its_usage_and_a_moderated_image_is_not_billed(api, media, ark):
    Price.objects.create(model=S40["model"], price_per_image=Decimal("0.25"), currency="CNY")
    ark.inject("item_error", skip=1)  # the second of three is moderated: Ark bills successes only
    task_id = api.generate(**S40, num_images=3)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert task.images_billed == 2
    assert task.tokens_billed == 2 * (1280 * 720 // 256)  # usage.total_tokens, summed over the requests
    assert task.cost == Decimal("0.5")


def test_the_cv_engine_bills_each_image_the_service_returned(api, media, upstream):
    Price.objects.create(model="jimeng_t2i_v40", price_per_image=Decimal("0.2"), currency="CNY")
    task_id = api.generate(model="jimeng_t2i_v40", width=1024, height=1024, num_images=2, seed=10,
                           negative_prompt=None, steps=None, scale=None)
    run(task_id)
    task = GenerationTask.objects.get(task_id=task_id)
    assert (task.status, task.images_billed, task.tokens_billed, task.cost) == ("completed", 2, None, Decimal("0.4"))
