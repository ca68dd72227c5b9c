"""The shared images-per-minute budget (generation/images_per_minute.py): counted in the shared cache, so
every worker on every machine draws on one budget."""

import pytest

from generation.images_per_minute import take

pytestmark = pytest.mark.django_db

START = 1_800_000_000.0


def test_images_within_the_limit_go_at_once_and_the_next_waits_for_the_window_to_end():
    key = "ark:test-model-a"
    assert [take(key, 3, now=START + 0.1 * i) for i in range(3)] == [0.0, 0.0, 0.0]
    wait = take(key, 3, now=START + 0.5)
    assert 0 < wait <= 60
    assert take(key, 3, now=START + 0.5 + wait) == 0.0  # the next window has room


def test_a_refused_image_is_not_counted():
    key = "ark:test-model-b"
    assert take(key, 1, now=START) == 0.0
    for _ in range(5):
        assert take(key, 1, now=START + 1) > 0
    wait = take(key, 1, now=START + 1)
    assert take(key, 1, now=START + 1 + wait) == 0.0
    assert take(key, 1, now=START + 1 + wait + 0.1) > 0


def test_each_model_has_its_own_budget_and_zero_means_no_limit():
    assert take("ark:test-model-c", 1, now=START) == 0.0
    assert take("ark:test-model-d", 1, now=START) == 0.0
    assert all(take("ark:test-model-e", 0, now=START) == 0.0 for _ in range(10))
