"""The calendar's answers said in the conversation, end to end inside agent-runtime: real envelopes as
deliveries on a migrated SQLite database, turns answered by the embedded engine; only the NATS publish is
recorded. Covers the lead's replies too: a pick among offered times, a move, a cancel."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from afo_agent_runtime.adapters.store import SqlRepositories, sql_store
from afo_agent_runtime.adapters.tables import messaging
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.channels import ChannelHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.meeting_results import MeetingResults
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.turns import TurnHandler
from afo_common.db import Database, migrate
from afo_common.events import Event, envelope_for, parse_envelope
from afo_common.events.conversation import (
    LeadUpdated,
    MeetingCancelRequested,
    MeetingRequested,
    MessageReceived,
    MessageReplied,
)
from afo_common.events.workflow import MeetingBooked, MeetingCancelled, MeetingFailed, SlotOffer
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, DuplicateDelivery, PermanentError
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import AgentRef, ConversationDetail, ConversationRef, CreateAgent, CreateConversation
from afo_common.rpcs.agent_runtime_channels import SmsConversation
from afo_testkit.clock import FixedClock

TENANT = "ten_meetings"
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=TZ)  # a Monday afternoon
WED = [datetime(2026, 12, 9, 10, 0, tzinfo=TZ), datetime(2026, 12, 9, 10, 30, tzinfo=TZ),
       datetime(2026, 12, 9, 11, 0, tzinfo=TZ)]


@dataclass
class Recorder:
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, subject: str, body: bytes) -> None:
        self.published.append((subject.split(".")[-1], json.loads(body)))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.published]


@dataclass
class Runtime:
    db: Database
    uow: UnitOfWorkFactory
    store: SqlStore[SqlRepositories]
    realtime: Recorder
    turns: TurnHandler
    results: MeetingResults
    agent_id: str = ""
    conversation_id: str = ""

    async def start(self) -> None:
        clock = FixedClock(NOW)
        agents = AgentHandlers(self.store, clock)
        agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", "timezone": "America/New_York"}))
        await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
        view = await ConversationHandlers(self.store, clock).create(
            CreateConversation(tenant_id=TENANT, agent_id=agent.id, channel="api"))
        self.agent_id, self.conversation_id = agent.id, view.id

    async def say(self, text: str) -> None:
        payload = MessageReceived(conversation_id=self.conversation_id, message_id=new_id("msg"), channel="api",
                                  text=text, sent_at=NOW)
        await self.turns(Delivery(envelope_for(payload, tenant_id=TENANT, source="gateway"), payload, 1,
                                  "agent-runtime-message-received", self.uow))

    def delivery(self, event: Event, tenant_id: str = TENANT) -> Delivery:
        consumer = {MeetingBooked: "agent-runtime-meeting-booked", MeetingFailed: "agent-runtime-meeting-failed"}
        envelope = envelope_for(event, tenant_id=tenant_id, source="workflow-executor")
        return Delivery(envelope, event, 1, consumer.get(type(event), "agent-runtime-meeting-cancelled"), self.uow)

    def booked(self, meeting_id: str = "mtg_1", start: datetime = WED[0], **values: Any) -> MeetingBooked:
        return MeetingBooked(meeting_id=meeting_id, request_id="mreq_1", conversation_id=self.conversation_id,
                             agent_id=self.agent_id, lead_id=None, calendar_id="cal_1", provider="builtin",
                             start=start, end=start + timedelta(minutes=30), timezone="America/New_York", **values)

    def failed(self, **values: Any) -> MeetingFailed:
        return MeetingFailed(request_id="mreq_1", conversation_id=self.conversation_id, agent_id=self.agent_id,
                             lead_id=None, reason="slot_taken", detail="taken", timezone="America/New_York",
                             **values)

    def cancelled(self, meeting_id: str = "mtg_1", by: str = "lead") -> MeetingCancelled:
        return MeetingCancelled(meeting_id=meeting_id, conversation_id=self.conversation_id, agent_id=self.agent_id,
                                lead_id=None, by=by)  # type: ignore[arg-type]

    async def detail(self) -> ConversationDetail:
        ref = ConversationRef(tenant_id=TENANT, conversation_id=self.conversation_id)
        return await ConversationHandlers(self.store, FixedClock(NOW)).get(ref)

    async def outbox_seq(self) -> int:
        async with self.db.session() as session:
            return max((await session.execute(select(messaging.outbox.c.seq))).scalars().all(), default=0)

    async def events_after(self, seq: int) -> list[Event]:
        query = select(messaging.outbox).where(messaging.outbox.c.seq > seq).order_by(messaging.outbox.c.seq)
        async with self.db.session() as session:
            rows = (await session.execute(query)).all()
        return [parse_envelope(row.payload)[1] for row in rows]


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'agent-runtime.db'}")
    await migrate(db, "afo_agent_runtime.migrations")
    uow = UnitOfWorkFactory(db, messaging, "agent-runtime", on_commit=lambda: None)
    store = sql_store(uow)
    recorder = Recorder()
    llm = LlmEngines(api_key=None)
    clock = FixedClock(NOW)
    turns = TurnHandler("agent-runtime", store, clock, Realtime(recorder), llm, 5)
    runtime = Runtime(db, uow, store, recorder, turns, MeetingResults(store, clock, Realtime(recorder)))
    await runtime.start()
    try:
        yield runtime
    finally:
        await db.dispose()


async def test_a_booking_is_said_to_the_lead_on_every_channel_and_lands_on_the_lead(runtime: Runtime) -> None:
    await runtime.say("Hi, I'm Dana from Acme Corp, my email is dana@acme.example")
    seq = await runtime.outbox_seq()
    runtime.realtime.published.clear()
    booked = runtime.delivery(runtime.booked())

    await runtime.results(booked)

    detail = await runtime.detail()
    said = detail.messages[-1]
    assert (said.role, said.in_reply_to, said.intent) == ("assistant", booked.envelope.id, "meeting_booked")
    assert said.text == "You're booked! Your meeting is on Wednesday, Dec 9 at 10:00 AM (America/New_York)."
    assert detail.lead is not None
    assert detail.lead.fields["meeting_id"] == "mtg_1"
    assert datetime.fromisoformat(detail.lead.fields["meeting_start"]) == WED[0]
    assert detail.lead.fields["email"] == "dana@acme.example"
    events = await runtime.events_after(seq)
    assert [type(e) for e in events] == [LeadUpdated, MessageReplied]
    assert isinstance(events[0], LeadUpdated) and events[0].changed == ["meeting_id", "meeting_start"]
    assert isinstance(events[1], MessageReplied) and events[1].text == said.text
    assert runtime.realtime.kinds() == ["reply_completed", "lead_updated", "meeting_booked"]
    notice = runtime.realtime.published[-1][1]
    assert (notice["meeting_id"], notice["message_id"]) == ("mtg_1", said.id)


async def test_a_redelivered_result_is_a_duplicate_and_records_nothing_more(runtime: Runtime) -> None:
    booked = runtime.delivery(runtime.booked())
    await runtime.results(booked)
    seq, count = await runtime.outbox_seq(), len((await runtime.detail()).messages)

    with pytest.raises(DuplicateDelivery):
        await runtime.results(booked)

    assert await runtime.events_after(seq) == []
    assert len((await runtime.detail()).messages) == count


async def test_a_result_for_another_tenants_or_agents_conversation_is_a_dead_letter(runtime: Runtime) -> None:
    seq = await runtime.outbox_seq()

    with pytest.raises(PermanentError):
        await runtime.results(runtime.delivery(runtime.booked(), tenant_id="ten_other"))
    with pytest.raises(PermanentError):
        await runtime.results(runtime.delivery(runtime.booked().model_copy(update={"agent_id": "agt_other"})))

    assert await runtime.events_after(seq) == []
    assert (await runtime.detail()).messages == []


async def test_a_booking_outside_any_conversation_has_nothing_to_say(runtime: Runtime) -> None:
    seq = await runtime.outbox_seq()

    await runtime.results(runtime.delivery(runtime.booked().model_copy(update={"conversation_id": None})))

    assert await runtime.events_after(seq) == []


async def test_a_taken_time_offers_three_and_the_leads_pick_is_asked_for(runtime: Runtime) -> None:
    alternatives = [SlotOffer(start=s, end=s + timedelta(minutes=30)) for s in WED]
    await runtime.results(runtime.delivery(runtime.failed(alternatives=alternatives)))
    offer = (await runtime.detail()).messages[-1]
    assert offer.text == ("That time is taken — I can offer Wednesday, Dec 9 at 10:00 AM, 10:30 AM or 11:00 AM "
                          "(America/New_York). Which suits you?")
    assert runtime.realtime.kinds()[-1] == "meeting_failed"

    seq = await runtime.outbox_seq()
    await runtime.say("the fifth one")  # malformed: nothing asked, the times listed again
    assert not any(isinstance(e, MeetingRequested) for e in await runtime.events_after(seq))
    assert "10:00 AM, 10:30 AM or 11:00 AM" in (await runtime.detail()).messages[-1].text

    seq = await runtime.outbox_seq()
    await runtime.say("the second one")
    (requested,) = [e for e in await runtime.events_after(seq) if isinstance(e, MeetingRequested)]
    assert requested.start == WED[1] and requested.replaces_meeting_id is None


async def test_a_cancellation_that_overtakes_its_booking_leaves_no_meeting(runtime: Runtime) -> None:
    await runtime.results(runtime.delivery(runtime.cancelled(by="tenant")))
    seq = await runtime.outbox_seq()

    await runtime.results(runtime.delivery(runtime.booked()))

    detail = await runtime.detail()
    assert [m.intent for m in detail.messages] == ["meeting_cancelled"]
    assert detail.lead is None or "meeting_id" not in detail.lead.fields
    assert await runtime.events_after(seq) == []


async def test_the_lead_moves_then_cancels_the_booked_meeting(runtime: Runtime) -> None:
    await runtime.results(runtime.delivery(runtime.booked()))

    seq = await runtime.outbox_seq()
    await runtime.say("can we move it to Thursday at 2pm")
    (moved,) = [e for e in await runtime.events_after(seq) if isinstance(e, MeetingRequested)]
    assert moved.replaces_meeting_id == "mtg_1" and moved.start == datetime(2026, 12, 10, 14, 0, tzinfo=TZ)

    seq = await runtime.outbox_seq()
    await runtime.say("please cancel my meeting")
    (cancel,) = [e for e in await runtime.events_after(seq) if isinstance(e, MeetingCancelRequested)]
    assert cancel.meeting_id == "mtg_1" and cancel.conversation_id == runtime.conversation_id

    await runtime.results(runtime.delivery(runtime.cancelled()))
    detail = await runtime.detail()
    assert detail.messages[-1].text.startswith("Your meeting is cancelled.")
    assert detail.lead is not None and "meeting_id" not in detail.lead.fields
    assert detail.status == "open"  # cancelling a meeting is not opting out


async def test_in_an_sms_conversation_the_booking_goes_to_the_leads_phone_and_in_chat_nowhere_else(
        runtime: Runtime) -> None:
    await runtime.say("I'm Dana from Acme Corp, call me on +33 6 12 34 56 78")
    await runtime.results(runtime.delivery(runtime.booked()))
    [chat] = [e for e in await runtime.events_after(0) if isinstance(e, MessageReplied) and "Wed" in e.text]
    assert (chat.reply_route, chat.agent_id) == (None, runtime.agent_id)

    # As an SMS from +33698765432 starts one (the gateway's /twilio/sms): the lead's phone known from the start.
    view = await ChannelHandlers(runtime.store, FixedClock(NOW)).for_sms(SmsConversation(
        tenant_id=TENANT, agent_id=runtime.agent_id, phone="+33698765432", request_id="sms-request-1"))
    runtime.conversation_id = view.id
    seq = await runtime.outbox_seq()
    await runtime.results(runtime.delivery(runtime.booked("mtg_2")))
    [said] = [e for e in await runtime.events_after(seq) if isinstance(e, MessageReplied) and "Wed" in e.text]
    assert said.reply_route is not None
    assert (said.reply_route.channel, said.reply_route.to) == ("sms", "+33698765432")
