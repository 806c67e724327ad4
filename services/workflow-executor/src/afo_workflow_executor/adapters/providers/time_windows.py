"""Providers cap the range one availability query covers (Calendly 7 days, Google's freeBusy about 90): a longer
range is asked window by window."""

from __future__ import annotations

from datetime import datetime, timedelta


def windows(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of at most `size`."""
    cuts: list[tuple[datetime, datetime]] = []
    while start < end:
        cuts.append((start, min(start + size, end)))
        start = cuts[-1][1]
    return cuts
