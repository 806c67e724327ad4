"""When a supervised service crashes: restart it after a delay that doubles with each recent crash, and
give up once it crashed too often in a short window (a service that cannot start would otherwise
restart forever and hide the error in its log)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class CrashHistory:
    def __init__(
        self,
        max_crashes: int = 5,
        window_s: float = 60.0,
        first_delay_s: float = 0.5,
        max_delay_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_crashes = max_crashes
        self.window_s = window_s
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._clock = clock
        self._crashes: deque[float] = deque()

    @property
    def recent(self) -> int:
        """Crashes within the window, as of the last one recorded."""
        return len(self._crashes)

    def record(self) -> float | None:
        """Record a crash now; the delay before restarting, or None to give up."""
        now = self._clock()
        self._crashes.append(now)
        while self._crashes and now - self._crashes[0] > self.window_s:
            self._crashes.popleft()
        if len(self._crashes) >= self.max_crashes:
            return None
        doublings = len(self._crashes) - 1
        return min(self._first_delay_s * 2.0**doublings, self._max_delay_s)
