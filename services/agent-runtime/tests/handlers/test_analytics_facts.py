"""The facts analytics counts, written where they happen, on SQLite and PostgreSQL: real turns (the embedded
engine, a fake search that finds nothing) record each reply's latency and the question the documents did not
answer; the turn a lead qualifies, and the one they ask for a person, mark the conversation once; a booking
from the calendar marks it booked, once, whatever comes after; a redelivered turn changes nothing. Then
``analytics.summary`` reads them back."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from afo_agent_runtime.adapters.store import sql_store
from afo_agent_runtime.adapters.tables import messaging, turn_tallies
from afo_agent_runtime.domain.knowledge import Passage
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.analytics import AnalyticsHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.meeting_results import MeetingResults
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.turn_tallies import turn_tally_closer
from afo_agent_runtime.handlers.turns import TurnHandler
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.db import Database
from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReceived, TurnsTallied
from afo_common.events.workflow import MeetingBooked, MeetingCancelled
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import AgentRef, ConversationRef, CreateAgent, CreateConversation
from afo_common.rpcs.analytics import AnalyticsQuery
from afo_common.tallies import Tally
from afo_testkit.clock import SteppingClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.stores import committed_events, migrated_database

TENANT = "ten_facts"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
QUALIFYING = [
    "Hi there!",
    "I'm Dana from Northwind Traders, you can reach me at dana@northwind.example",
    "We need an assistant that answers questions on our website",
    "Our budget is about $20k",
    "We'd like to launch next quarter",
]


async def ignored(subject: str, body: bytes) -> None:
    """Real-time notices go nowhere here."""


class NothingFound:
    async def search(self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int) -> list[Passage]:
        return []


@dataclass
class Runtime:
    uow: UnitOfWorkFactory
    store: Store
    clock: SteppingClock
    turns: TurnHandler
    agent_id: str = ""

    async def conversation(self) -> str:
        view = await ConversationHandlers(self.store, self.clock).create(
            CreateConversation(tenant_id=TENANT, agent_id=self.agent_id, channel="web"))
        return view.id

    def delivery(self, conversation_id: str, text: str, sequence: int, key_id: str | None = None) -> Delivery:
        payload = MessageReceived(conversation_id=conversation_id, message_id=new_id("msg"), channel="web",
                                  text=text, sent_at=self.clock.now() - timedelta(milliseconds=250),
                                  sequence=sequence, key_id=key_id)
        return Delivery(envelope_for(payload, tenant_id=TENANT, source="gateway"), payload, 1,
                        "agent-runtime-message-received", self.uow)

    async def chat(self, conversation_id: str, *texts: str) -> None:
        for n, text in enumerate(texts, start=1):
            await self.turns(self.delivery(conversation_id, text, n))

    async def summary(self) -> Any:
        return await AnalyticsHandlers(self.store).summary(AnalyticsQuery(
            tenant_id=TENANT, start=START - timedelta(days=1), end=START + timedelta(days=6)))


@pytest.fixture(params=["sqlite", "postgres"])
async def runtime(request: pytest.FixtureRequest, tmp_path: Path,
                  postgres_server: PostgresDatabases | str) -> AsyncIterator[Runtime]:
    db: Database = await migrated_database(request.param, tmp_path, postgres_server, "afo_agent_runtime.migrations")
    uow = UnitOfWorkFactory(db, messaging, "agent-runtime", on_commit=lambda: None)
    store, clock = sql_store(uow), SteppingClock(START, step=timedelta(milliseconds=1))

    llm = LlmEngines(api_key=None, knowledge=NothingFound())
    await llm.start()
    turns = TurnHandler("agent-runtime", store, clock, Realtime(ignored), llm, 5, knowledge=NothingFound())
    runtime = Runtime(uow, store, clock, turns)
    agents = AgentHandlers(store, clock)
    agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", "knowledge_base_ids": ["kb_1"]}))
    await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
    runtime.agent_id = agent.id
    try:
        yield runtime
    finally:
        await llm.stop()
        await db.dispose()


async def test_turns_record_latency_unanswered_questions_qualification_and_handoff(runtime: Runtime) -> None:
    qualified = await runtime.conversation()
    await runtime.chat(qualified, *QUALIFYING, "Do you integrate with Salesforce?")
    handed_off = await runtime.conversation()
    await runtime.chat(handed_off, "do you integrate with SALESFORCE??", "yes please")

    found = await runtime.summary()

    assert found.totals.model_dump() == {"conversations": 2, "qualified": 1, "booked": 0, "handed_off": 1}
    assert [(q.question, q.count) for q in found.unanswered] == [("do you integrate with salesforce", 2)]
    # Every reply is timed, from the message's sent_at (250 ms before the turn started) to its commit.
    assert found.reply_latency.count == len(QUALIFYING) + 3
    assert found.reply_latency.p50_ms is not None and 250 <= found.reply_latency.p50_ms < 1000
    async with runtime.store.reading() as repos:
        first = await repos.conversations.get(TENANT, qualified)
        second = await repos.conversations.get(TENANT, handed_off)
    assert first is not None and first.qualified_at is not None and first.handed_off_at is None
    assert second is not None and second.handed_off_at is not None and second.qualified_at is None


async def test_a_redelivered_turn_and_later_turns_keep_the_first_times(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation()
    await runtime.chat(conversation_id, *QUALIFYING)
    again = runtime.delivery(conversation_id, QUALIFYING[-1], len(QUALIFYING))
    async with runtime.store.reading() as repos:
        before = await repos.conversations.get(TENANT, conversation_id)

    await runtime.turns(runtime.delivery(conversation_id, "Can I talk to a person?", len(QUALIFYING) + 1))
    await runtime.turns(runtime.delivery(conversation_id, "A person please", len(QUALIFYING) + 2))
    await runtime.turns(again)  # a new event id: answered again, and the lead is already qualified
    async with runtime.store.reading() as repos:
        after = await repos.conversations.get(TENANT, conversation_id)

    assert before is not None and after is not None and before.qualified_at is not None
    assert after.qualified_at == before.qualified_at and after.handed_off_at is not None
    found = await runtime.summary()
    assert (found.totals.qualified, found.totals.handed_off) == (1, 1)


async def test_a_booking_marks_the_conversation_booked_once_even_if_cancelled(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation()
    await runtime.chat(conversation_id, "Hi there!")
    results = MeetingResults(runtime.store, runtime.clock, Realtime(ignored))
    start = START + timedelta(days=2)

    def delivery(event: Any, consumer: str) -> Delivery:
        return Delivery(envelope_for(event, tenant_id=TENANT, source="workflow-executor"), event, 1, consumer,
                        runtime.uow)

    booked = MeetingBooked(meeting_id="mtg_1", request_id="mreq_1", conversation_id=conversation_id,
                           agent_id=runtime.agent_id, lead_id=None, calendar_id="cal_1", provider="builtin",
                           start=start, end=start + timedelta(minutes=30), timezone="UTC")
    first = delivery(booked, "agent-runtime-meeting-booked")
    await results(first)
    with pytest.raises(DuplicateDelivery):
        await results(first)
    await results(delivery(MeetingCancelled(meeting_id="mtg_1", conversation_id=conversation_id,
                                            agent_id=runtime.agent_id, lead_id=None, by="lead"),
                           "agent-runtime-meeting-cancelled"))

    found = await runtime.summary()
    detail = await ConversationHandlers(runtime.store, runtime.clock).get(
        ConversationRef(tenant_id=TENANT, conversation_id=conversation_id))

    assert (found.totals.conversations, found.totals.booked) == (1, 1)
    assert [m.intent for m in detail.messages if m.role == "assistant"][-2:] == ["meeting_booked",
                                                                               "meeting_cancelled"]



async def test_turns_are_tallied_per_agent_and_key_and_each_closed_window_sent_once(runtime: Runtime) -> None:
    tally = Tally.of(turn_tallies, window_s=60)
    send = turn_tally_closer(tally, runtime.uow, runtime.clock, grace_s=5)
    conversation_id = await runtime.conversation()
    keyed = runtime.delivery(conversation_id, "Hi there!", 1, key_id="key_1")
    await runtime.turns(keyed)
    with pytest.raises(DuplicateDelivery):
        await runtime.turns(keyed)  # redelivered: refused by the inbox before it counts
    await runtime.turns(runtime.delivery(conversation_id, "Do you integrate with Salesforce?", 2, key_id="key_1"))
    await runtime.turns(runtime.delivery(conversation_id, "hello again", 3))  # a console user's: no key
    await send()
    assert await tallies_sent(runtime) == []  # the window is still open

    runtime.clock.next = START + timedelta(seconds=64)
    await send()
    assert await tallies_sent(runtime) == []  # over, but not yet for the grace
    runtime.clock.next = START + timedelta(seconds=66)
    await runtime.turns(runtime.delivery(conversation_id, "one more", 4, key_id="key_1"))  # the next window's
    await send()
    await send()

    sent = {(t.key_id, t.window_start): t for t in await tallies_sent(runtime)}
    assert sorted(sent, key=str) == sorted([("key_1", START), (None, START)], key=str)
    keyed_window, unkeyed_window = sent[("key_1", START)], sent[(None, START)]
    assert (keyed_window.agent_id, keyed_window.messages, keyed_window.replies, keyed_window.fallbacks,
            keyed_window.window_s) == (runtime.agent_id, 2, 2, 0, 60)
    assert 500 <= keyed_window.reply_ms_total < 2000  # each reply 250 ms after its message, and a little more
    assert (unkeyed_window.messages, unkeyed_window.replies) == (1, 1)
    async with runtime.uow.db.session() as session:
        left = (await session.execute(select(turn_tallies.c.key_id, turn_tallies.c.messages))).all()
    assert [tuple(row) for row in left] == [("key_1", 1)]  # the open window's turn waits for its window to end


async def tallies_sent(runtime: Runtime) -> list[TurnsTallied]:
    return [TurnsTallied.model_validate(e.data) for e in await committed_events(runtime.uow.db, messaging)
            if e.type == TurnsTallied.type_name()]
