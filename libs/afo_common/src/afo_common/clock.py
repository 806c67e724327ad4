"""The time, as handlers read it: a ``Clock`` they are given, so a test can fix or step it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The machine's clock: what every composition root gives its handlers."""

    def now(self) -> datetime:
        return datetime.now(UTC)
