"""Nearest-rank percentiles of a (value, count) histogram: what a service's GROUP BY gives back."""

import pytest

from afo_common.percentiles import count, percentile


def test_nearest_rank_is_an_observed_value() -> None:
    values = [(float(v), 1) for v in range(1, 101)]  # 1..100 once each

    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 1.0)) == (50.0, 95.0, 100.0)
    assert percentile([(10.0, 3), (20.0, 1)], 0.75) == 10.0 and percentile([(10.0, 3), (20.0, 1)], 0.76) == 20.0


def test_order_and_empty_buckets_do_not_matter() -> None:
    assert percentile([(900.0, 1), (0.0, 0), (20.0, 19)], 0.95) == 20.0
    assert percentile([(900.0, 2), (20.0, 18)], 0.95) == 900.0
    assert count([(1.0, 2), (2.0, 0), (3.0, -1)]) == 2


def test_no_observations_have_no_percentile() -> None:
    assert percentile([], 0.5) is None and percentile([(5.0, 0)], 0.5) is None


@pytest.mark.parametrize("q", [0.0, -0.1, 1.5])
def test_q_is_a_fraction(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([(1.0, 1)], q)
