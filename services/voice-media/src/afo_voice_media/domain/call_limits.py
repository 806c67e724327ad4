"""Whether a tenant may start a call now, from voice-media's own copy of its plan's call limits.

Rules:
- A tenant's calls at once are its calls that may still carry audio: in progress (begun within ``STALE_AFTER``:
  one older was left by a process that died before ending it), admitted with a media ticket not yet expired, or
  being dialled (asked of Twilio within ``RINGING_AT_MOST``).
- Its voice minutes are the durations of its calls that ended this calendar month (UTC), a started minute counted.
- A new call (inbound, from the browser, or dialled) is refused when either is used up: calls at once until one
  ends (retry in a minute), minutes until the month resets. A call in progress is never cut off.
- A tenant of which no plan event has arrived yet has announced no limits: its calls are taken."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from afo_common.rpcs.plan_limits import PlanLimitReached

STALE_AFTER = timedelta(hours=6)
RINGING_AT_MOST = timedelta(minutes=2)
# How long a caller refused for calls at once is told to wait: calls last minutes.
CALL_RETRY_S = 60


@dataclass(frozen=True)
class CallLimits:
    plan: str
    concurrent_calls: int | None
    voice_minutes_per_month: int | None
    revision: int


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) ``now`` is in: its start and the next one's."""
    at = now.astimezone(UTC)
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    return start, datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)


def refusal(limits: CallLimits | None, active: int, seconds_this_month: float,
            now: datetime) -> PlanLimitReached | None:
    """Why a new call is refused, or None when it may start."""
    if limits is None:
        return None
    if limits.concurrent_calls is not None and active >= limits.concurrent_calls:
        return PlanLimitReached(limit="concurrent_calls", allowed=limits.concurrent_calls, used=active,
                                plan=limits.plan, retry_after_s=CALL_RETRY_S)
    minutes = limits.voice_minutes_per_month
    if minutes is not None and seconds_this_month >= minutes * 60:
        _, resets_at = month_of(now)
        return PlanLimitReached(limit="voice_minutes_per_month", allowed=minutes,
                                used=math.ceil(seconds_this_month / 60), plan=limits.plan, resets_at=resets_at,
                                retry_after_s=max(1, math.ceil((resets_at - now).total_seconds())))
    return None
