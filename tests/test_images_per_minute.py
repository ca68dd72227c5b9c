"""The shared images-per-minute budget (generation/images_per_minute.py): counted in the shared cache, so
every worker on every machine draws on one budget, and never more than the limit in any 60 seconds."""

import random

import pytest

from generation.images_per_minute import BUCKETS, PERIOD, take

pytestmark = pytest.mark.django_db

START = 1_800_000_000.0  # a slice boundary
SLICE = PERIOD / BUCKETS


def test_images_within_the_limit_go_at_once_and_the_next_waits_for_the_first_to_be_a_minute_old():
    key = "ark:test-model-a"
    assert [take(key, 3, now=START + 0.1 * i) for i in range(3)] == [0.0, 0.0, 0.0]
    wait = take(key, 3, now=START + 0.5)
    assert PERIOD - 0.5 < wait <= PERIOD + SLICE
    assert take(key, 3, now=START + 0.5 + wait) == 0.0  # the first three are more than a minute old


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


def test_a_burst_across_a_minute_s_end_is_not_let_through_twice():
    # Fixed minutes would take three at 0:59 and three more at 1:01: six in two seconds.
    key = "ark:test-model-f"
    assert [take(key, 3, now=START + 59 + 0.1 * i) for i in range(3)] == [0.0, 0.0, 0.0]
    assert take(key, 3, now=START + 61) > 0
    assert take(key, 3, now=START + 59 + PERIOD - 0.5) > 0  # not yet a minute after the burst
    assert take(key, 3, now=START + 59 + PERIOD + SLICE) == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_sixty_seconds_ever_hold_more_than_the_limit_and_little_of_it_goes_unused(seed):
    """Clients asking at random instants for ten minutes, each waiting as told before asking again."""
    rng = random.Random(seed)
    key, limit = f"ark:test-model-g{seed}", 20
    admitted = []
    clients = [START + rng.uniform(0, 5) for _ in range(8)]  # when each asks next
    end = START + 600
    while min(clients) < end:
        i = min(range(len(clients)), key=clients.__getitem__)
        now = clients[i]
        wait = take(key, limit, now=now)
        if wait == 0.0:
            admitted.append(now)
            clients[i] = now + rng.uniform(0, 3)
        else:
            clients[i] = now + wait + rng.uniform(0, 0.2)
    for t in admitted:
        assert sum(1 for u in admitted if t - PERIOD < u <= t) <= limit, t - START
    # Demand always exceeds the limit: at least 10/12 of it is used (one slice of margin per minute).
    assert len(admitted) >= limit * 10 * (BUCKETS - 2) / BUCKETS
