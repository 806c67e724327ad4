"""Percentiles of a histogram: observations counted by value (what a ``GROUP BY value`` gives back), so a
service can aggregate latencies in its database and ship only (value, count) pairs. Nearest-rank: the
q-th percentile is the smallest observed value at or below which at least q of the observations lie, so
it is always a value that was observed, and exact when the values are (whole milliseconds)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(histogram: Iterable[tuple[float, int]], q: float) -> float | None:
    """None for no observations; ``q`` in (0, 1]. Pairs with a count of 0 or less are ignored."""
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    counted = sorted((value, count) for value, count in histogram if count > 0)
    total = sum(count for _, count in counted)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total - 1e-9))
    seen = 0
    for value, count in counted:
        seen += count
        if seen >= rank:
            return value
    return counted[-1][0]  # pragma: no cover - the loop always reaches rank


def count(histogram: Iterable[tuple[float, int]]) -> int:
    return sum(c for _, c in histogram if c > 0)
