"""Clocks for handler tests (``afo_common.clock.Clock``): one that stands still until told, one that steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class FixedClock:
    """Reads ``at`` every time; ``advance`` moves it."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


class SteppingClock:
    """Starts at ``start`` and moves ``step`` on after every reading, so each reading is later than the last."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(seconds=1)) -> None:
        self.next = start
        self.step = step

    def now(self) -> datetime:
        current = self.next
        self.next += self.step
        return current
