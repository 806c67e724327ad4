"""Plans' rules as plain functions: calendar months in UTC (a December rolls into January), what a plan keeps
(402 past it, unlimited never) and what a month allows (429 until it resets), and the plan's request rate
compared with the platform's own."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from afo_common.events.tenant import PlanLimits
from afo_gateway.adapters.rate_limits import Limit
from afo_gateway.domain.errors import PlanLimitReached, QuotaExceeded
from afo_gateway.domain.plans import Month, TenantPlan, check_kept, check_monthly, voice_minutes

TENANT = TenantPlan("ten_a", "free", PlanLimits(agents=2, messages_per_month=10, knowledge_bytes=0), 3)


def test_a_month_is_the_calendar_month_in_utc_and_resets_at_the_next_ones_start() -> None:
    december = Month.of(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    # 00:30 on 1 January in Paris is still 31 December in UTC.
    paris = Month.of(datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))

    assert (december.key, december.starts_at, december.resets_at) == (
        "2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert paris.key == "2026-12"
    assert Month.of(datetime(2026, 3, 5, tzinfo=UTC)).seconds_left(datetime(2026, 3, 31, 23, 59, 59, 500_000,
                                                                             tzinfo=UTC)) == 1


def test_what_a_plan_keeps_is_refused_with_402_past_it_and_never_when_unlimited() -> None:
    check_kept(TENANT, "agents", used=1, adding=1)
    check_kept(TENANT, "concurrent_calls", used=10**6, adding=1)  # unlimited

    with pytest.raises(PlanLimitReached) as past:
        check_kept(TENANT, "agents", used=2, adding=1)
    with pytest.raises(PlanLimitReached):
        check_kept(TENANT, "knowledge_bytes", used=0, adding=1)  # 0 keeps nothing

    assert past.value.status == 402 and past.value.headers == {}
    assert past.value.extensions == {"limit": "agents", "allowed": 2, "used": 2, "plan": "free"}


def test_a_months_allowance_used_up_is_429_until_the_month_resets() -> None:
    now = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    check_monthly(TENANT, "messages_per_month", 9, now)
    check_monthly(TENANT, "voice_minutes_per_month", 10**9, now)  # unlimited

    with pytest.raises(QuotaExceeded) as used_up:
        check_monthly(TENANT, "messages_per_month", 10, now)

    assert used_up.value.status == 429 and used_up.value.headers == {"Retry-After": "3600"}
    assert used_up.value.extensions == {"limit": "messages_per_month", "allowed": 10, "used": 10, "plan": "free",
                                        "resets_at": "2026-04-01T00:00:00+00:00"}


def test_voice_minutes_count_every_started_minute() -> None:
    assert [voice_minutes(s) for s in (0.0, 0.4, 60.0, 60.1)] == [0, 1, 1, 2]


def test_a_plans_rate_applies_only_where_it_is_stricter_than_the_platforms() -> None:
    platform = Limit("api", "2000/second", "sliding-window-counter")
    tight = Limit("api", "120/minute", "sliding-window-counter")

    assert platform.stricter(300) and not platform.stricter(200_000)
    assert not tight.stricter(300) and tight.stricter(60)


async def test_a_plans_rate_is_counted_per_identity() -> None:
    limit = Limit("api", "2000/second", "sliding-window-counter")

    answers = [await limit.hit("key:a", 2) for _ in range(3)]

    assert answers[:2] == [None, None] and answers[2] is not None and 1 <= answers[2] <= 60
    assert await limit.hit("key:b", 2) is None
    assert await limit.hit("key:c", 0) is not None  # a plan that allows no requests
