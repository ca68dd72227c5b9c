"""A budget's rate string, "count/period": the period is a unit (s, m, h, d) with an optional multiple."""

from __future__ import annotations

import pytest

from core.api.throttling import parse_rate


@pytest.mark.parametrize(("rate", "expected"), [
    ("3/s", (3, 1)),
    ("30/m", (30, 60)),
    ("2/h", (2, 3600)),
    ("1/d", (1, 86400)),
    ("5/10m", (5, 600)),
    ("10/2s", (10, 2)),
    ("100000/m", (100000, 60)),
])
def test_a_rate_is_a_count_per_period(rate, expected):
    assert parse_rate(rate) == expected


def test_an_unknown_unit_is_refused():
    with pytest.raises(KeyError):
        parse_rate("3/w")
