"""``analytics.summary`` on every backend (``conftest.py``): in memory, SQLite, PostgreSQL — the same records
give the same numbers. Conversations carry their funnel facts as a turn sets them; replies (with their latency
and the question they could not answer) are written as a turn writes them (``written``)."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.analytics import AnalyticsHandlers
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.ids import new_id
from afo_common.rpcs.agent_runtime import CreateAgent
from afo_common.rpcs.analytics import AnalyticsQuery
from afo_testkit.clock import SteppingClock

TurnWriter = Callable[[str, MessageRow | LeadRow], Awaitable[None]]
TENANT, OTHER = "ten_analytics", "ten_other"
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def query(days: int = 7, tenant_id: str = TENANT, **more: Any) -> AnalyticsQuery:
    return AnalyticsQuery.model_validate({"tenant_id": tenant_id, "start": MONDAY,
                                          "end": MONDAY + timedelta(days=days), **more})


async def agent(store: Store, clock: SteppingClock, name: str, tenant_id: str = TENANT) -> str:
    view = await AgentHandlers(store, clock).create(CreateAgent(tenant_id=tenant_id, spec={"name": name}))
    return view.id


async def conversation(store: Store, agent_id: str, started: datetime, *, channel: str = "web",
                       tenant_id: str = TENANT, qualified: bool = False, booked: bool = False,
                       handed_off: bool = False) -> str:
    later = started + timedelta(hours=30)  # outcomes may come on a later day: they count on the start's
    row = ConversationRow(new_id("conv"), tenant_id, agent_id, 1, channel, {}, "open", None, {}, 0, started, started,
                          qualified_at=later if qualified else None, booked_at=later if booked else None,
                          handed_off_at=later if handed_off else None)
    async with store() as uow:
        await uow.conversations.add(row)
    return row.id


async def reply(written: TurnWriter, conversation_id: str, at: datetime, ms: int, unanswered: str | None = None,
                tenant_id: str = TENANT) -> None:
    await written(tenant_id, MessageRow(new_id("msg"), conversation_id, "assistant", "…", at,
                                        in_reply_to=new_id("msg"), reply_ms=ms, unanswered=unanswered))


async def test_the_funnel_counts_conversations_by_their_start_with_their_outcomes(store: Store,
                                                                                  clock: SteppingClock) -> None:
    ava, ben = await agent(store, clock, "Ava"), await agent(store, clock, "Ben")
    await conversation(store, ava, MONDAY + timedelta(hours=9), qualified=True, booked=True)
    await conversation(store, ava, MONDAY + timedelta(hours=23, minutes=59), qualified=True, handed_off=True)
    await conversation(store, ava, MONDAY + timedelta(days=2, hours=8), channel="sms")
    await conversation(store, ben, MONDAY + timedelta(days=2, hours=9), channel="voice", handed_off=True)
    await conversation(store, ben, MONDAY - timedelta(seconds=1), qualified=True)  # before the range
    await conversation(store, ben, MONDAY + timedelta(days=7))  # the range's end is exclusive

    found = await AnalyticsHandlers(store).summary(query())

    assert found.totals.model_dump() == {"conversations": 4, "qualified": 2, "booked": 1, "handed_off": 2}
    assert [(p.start.day, p.conversations, p.qualified, p.booked, p.handed_off) for p in found.series] == [
        (2, 2, 2, 1, 1), (3, 0, 0, 0, 0), (4, 2, 0, 0, 1), (5, 0, 0, 0, 0), (6, 0, 0, 0, 0), (7, 0, 0, 0, 0),
        (8, 0, 0, 0, 0)]
    assert [(s.key, s.conversations) for s in found.by_channel] == [("web", 2), ("sms", 1), ("voice", 1)]
    assert [(s.label, s.conversations, s.qualified, s.handed_off) for s in found.by_agent] == [
        ("Ava", 3, 2, 1), ("Ben", 1, 0, 1)]


async def test_days_and_weeks_are_the_query_time_zones_across_a_change_of_its_offset(
        store: Store, clock: SteppingClock) -> None:
    ava = await agent(store, clock, "Ava")
    la = ZoneInfo("America/Los_Angeles")  # summer time from Sunday 8 March 2026, 02:00 local (10:00 UTC)

    def local(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 3, day, hour, minute, tzinfo=la)

    for started in (local(7, 23, 30),  # Saturday late: Sunday in UTC
                    local(8, 1, 30), local(8, 23, 30),  # Sunday, either side of the change; the second Monday in UTC
                    local(9, 0, 10), local(9, 16, 59),  # Monday
                    local(9, 17, 1)):  # Monday, Tuesday in UTC
        await conversation(store, ava, started)
    week: dict[str, Any] = {"start": local(2, 0), "end": local(16, 0)}

    daily = await AnalyticsHandlers(store).summary(query(**week, time_zone="America/Los_Angeles"))
    weekly = await AnalyticsHandlers(store).summary(query(**week, time_zone="America/Los_Angeles", granularity="week"))
    in_utc = await AnalyticsHandlers(store).summary(query(**week, time_zone="UTC"))

    counts = {p.start.day: p.conversations for p in daily.series if p.conversations}
    assert counts == {7: 1, 8: 2, 9: 3} and len(daily.series) == 14 and daily.series[0].start.day == 2
    assert [(p.start.day, p.conversations) for p in weekly.series] == [(2, 3), (9, 3)]
    assert {p.start.day: p.conversations for p in in_utc.series if p.conversations} == {8: 2, 9: 3, 10: 1}


async def test_filters_keep_one_agent_or_one_channel(store: Store, clock: SteppingClock,
                                                     written: TurnWriter) -> None:
    ava, ben = await agent(store, clock, "Ava"), await agent(store, clock, "Ben")
    web = await conversation(store, ava, MONDAY, qualified=True)
    sms = await conversation(store, ava, MONDAY, channel="sms")
    other = await conversation(store, ben, MONDAY)
    await reply(written, web, MONDAY, 10, "do you integrate with salesforce")
    await reply(written, sms, MONDAY, 20, "is there a free trial")
    await reply(written, other, MONDAY, 30, "do you integrate with salesforce")
    handlers = AnalyticsHandlers(store)

    by_agent = await handlers.summary(query(agent_id=ava))
    by_channel = await handlers.summary(query(channel="sms"))
    both = await handlers.summary(query(agent_id=ben, channel="sms"))

    assert (by_agent.totals.conversations, by_agent.totals.qualified, by_agent.reply_latency.count) == (2, 1, 2)
    assert [(q.question, q.count) for q in by_agent.unanswered] == [("do you integrate with salesforce", 1),
                                                                   ("is there a free trial", 1)]
    assert (by_channel.totals.conversations, by_channel.reply_latency.p50_ms) == (1, 20.0)
    assert [q.question for q in by_channel.unanswered] == ["is there a free trial"]
    assert (both.totals.conversations, both.reply_latency.count, both.unanswered) == (0, 0, [])


async def test_reply_latency_and_unanswered_questions_are_those_of_replies_in_the_range(
    store: Store, clock: SteppingClock, written: TurnWriter
) -> None:
    ava = await agent(store, clock, "Ava")
    started = await conversation(store, ava, MONDAY - timedelta(days=1))  # started before, replied within
    for n, ms in enumerate([12, 15, 15, 18, 20, 22, 25, 30, 40, 900]):
        await reply(written, started, MONDAY + timedelta(hours=n), ms)
    for n in range(3):
        await reply(written, started, MONDAY + timedelta(days=1, hours=n), 50, "do you integrate with salesforce")
    await reply(written, started, MONDAY + timedelta(days=2), 50, "is there a free trial")
    await reply(written, started, MONDAY + timedelta(days=9), 5000, "asked after the range")

    found = await AnalyticsHandlers(store).summary(query())

    assert (found.reply_latency.count, found.reply_latency.p50_ms, found.reply_latency.p95_ms) == (14, 25.0, 900.0)
    assert [(q.question, q.count, q.last_asked_at) for q in found.unanswered] == [
        ("do you integrate with salesforce", 3, MONDAY + timedelta(days=1, hours=2)),
        ("is there a free trial", 1, MONDAY + timedelta(days=2))]
    assert found.totals.conversations == 0  # it started the day before


async def test_at_most_ten_unanswered_questions_most_asked_first(store: Store, clock: SteppingClock,
                                                                written: TurnWriter) -> None:
    ava = await agent(store, clock, "Ava")
    conversation_id = await conversation(store, ava, MONDAY)
    for n in range(12):
        for _ in range(1 + (n == 7) * 2):
            await reply(written, conversation_id, MONDAY + timedelta(minutes=n), 5, f"question {n:02d}")

    found = await AnalyticsHandlers(store).summary(query())

    assert len(found.unanswered) == 10
    assert (found.unanswered[0].question, found.unanswered[0].count) == ("question 07", 3)
    assert [q.question for q in found.unanswered[1:4]] == ["question 11", "question 10", "question 09"]


async def test_another_tenant_sees_nothing_of_these_records(store: Store, clock: SteppingClock,
                                                            written: TurnWriter) -> None:
    ava = await agent(store, clock, "Ava")
    conversation_id = await conversation(store, ava, MONDAY, qualified=True, booked=True)
    await reply(written, conversation_id, MONDAY, 10, "do you integrate with salesforce")
    theirs = await agent(store, clock, "Theirs", tenant_id=OTHER)
    await conversation(store, theirs, MONDAY, tenant_id=OTHER)

    mine = await AnalyticsHandlers(store).summary(query())
    other = await AnalyticsHandlers(store).summary(query(tenant_id=OTHER))
    # Naming our agent from the other tenant finds nothing either.
    other_with_our_agent = await AnalyticsHandlers(store).summary(query(tenant_id=OTHER, agent_id=ava))

    assert (mine.totals.conversations, mine.totals.booked, mine.reply_latency.count, len(mine.unanswered)) == (
        1, 1, 1, 1)
    assert (other.totals.conversations, other.totals.qualified, other.reply_latency.count, other.unanswered) == (
        1, 0, 0, [])
    assert [s.label for s in other.by_agent] == ["Theirs"]
    assert other_with_our_agent.totals.conversations == 0 and other_with_our_agent.by_agent == []


async def test_an_empty_period_is_zeros_over_every_week(store: Store) -> None:
    found = await AnalyticsHandlers(store).summary(query(days=21, granularity="week"))

    assert [(p.start.isoformat(), p.conversations) for p in found.series] == [
        ("2026-03-02", 0), ("2026-03-09", 0), ("2026-03-16", 0)]
    assert found.reply_latency.count == 0 and found.reply_latency.p50_ms is None and found.unanswered == []
