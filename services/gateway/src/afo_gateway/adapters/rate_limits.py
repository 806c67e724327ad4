"""Rate limits counted in this process's memory with the `limits` library. Each gateway replica counts
on its own, so behind a load balancer a client gets up to the limit times the number of replicas."""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerMinute, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter, RateLimiter, SlidingWindowCounterRateLimiter

Strategy = Literal["moving-window", "sliding-window-counter"]


class Limit:
    """One or more rates (``"10/minute;100/hour"``) over one kind of identity.

    A moving window counts every hit exactly (for the small limits on logins and sign-ups); a sliding
    window counter keeps two counters per identity (for the large per-principal API limit, where a moving
    window would keep one timestamp per request)."""

    def __init__(self, name: str, rates: str, strategy: Strategy) -> None:
        self.name = name
        self._items: list[RateLimitItem] = parse_many(rates)
        # Requests per second of the strictest of the rates: what another rate is compared with.
        self._per_second = min(item.amount / item.get_expiry() for item in self._items)
        storage = MemoryStorage()
        self._limiter: RateLimiter = (MovingWindowRateLimiter(storage) if strategy == "moving-window"
                                      else SlidingWindowCounterRateLimiter(storage))

    def stricter(self, per_minute: int) -> bool:
        """Whether ``per_minute`` lets fewer requests through than this limit's own rates do."""
        return per_minute / 60 < self._per_second

    async def hit(self, identity: str, per_minute: int | None = None) -> int | None:
        """Counts one request; ``None`` when it is allowed, else the seconds until one would be. With
        ``per_minute`` (a tenant's plan), that rate is counted instead of the limit's own."""
        for item in self._items if per_minute is None else [_per_minute(per_minute)]:
            if not await self._limiter.hit(item, self.name, identity):
                stats = await self._limiter.get_window_stats(item, self.name, identity)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None


@lru_cache(maxsize=256)
def _per_minute(amount: int) -> RateLimitItem:
    return RateLimitItemPerMinute(amount)
