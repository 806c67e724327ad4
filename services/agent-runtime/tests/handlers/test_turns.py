"""A turn end to end inside agent-runtime: real envelopes as deliveries, a real migrated SQLite database and
unit of work, the embedded engine or a local OpenAI-compatible server; only the NATS publish is recorded."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from afo_agent_runtime.adapters.conversation_repository import ConversationRepository, MessageRow
from afo_agent_runtime.adapters.openai_chat import ChatProviderError
from afo_agent_runtime.adapters.store import SqlRepositories, sql_store
from afo_agent_runtime.adapters.tables import messaging
from afo_agent_runtime.domain.errors import NotFound
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.channels import ChannelHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.turns import TurnHandler
from afo_common.clock import Clock, SystemClock
from afo_common.db import Database, migrate
from afo_common.events import Envelope, Event, envelope_for, parse_envelope
from afo_common.events.conversation import (
    ConversationClosed,
    ConversationOptedOut,
    LeadCreated,
    LeadUpdated,
    MeetingRequested,
    MessageReceived,
    MessageReplied,
    ReplyRoute,
)
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, DuplicateDelivery, PermanentError
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import AgentRef, ConversationDetail, ConversationRef, CreateAgent, CreateConversation
from afo_common.rpcs.agent_runtime_channels import CallConversation
from afo_testkit.clock import FixedClock
from afo_testkit.openai_server import Call, FakeOpenAI, Text, ToolCalls, Turn

TENANT = "ten_turns"
CONSUMER = "agent-runtime-message-received"
MAX_DELIVER = 5


@dataclass
class Published:
    kind: str
    payload: dict[str, Any]
    reply_committed: bool


@dataclass
class RealtimeRecorder:
    """The NATS port: records each real-time notice, and whether the reply it is about was committed yet."""

    db: Database
    published: list[Published] = field(default_factory=list)

    async def __call__(self, subject: str, body: bytes) -> None:
        prefix, tenant, _conversation, kind = subject.split(".")[1:]
        assert (prefix, tenant) == ("rt", TENANT)
        payload = json.loads(body)
        committed = False
        if "in_reply_to" in payload:
            async with self.db.session() as session:
                committed = await ConversationRepository(session).reply_to(TENANT, payload["in_reply_to"]) is not None
        self.published.append(Published(kind, payload, committed))

    def kinds(self) -> list[str]:
        return [p.kind for p in self.published]

    def of(self, kind: str) -> list[Published]:
        return [p for p in self.published if p.kind == kind]


@dataclass
class Runtime:
    db: Database
    uow: UnitOfWorkFactory
    store: SqlStore[SqlRepositories]
    realtime: RealtimeRecorder
    llm: LlmEngines
    turns: TurnHandler

    def turn_handler(self, order_wait_s: float = 30.0, clock: Clock | None = None) -> TurnHandler:
        return TurnHandler("agent-runtime", self.store, clock or SystemClock(), Realtime(self.realtime), self.llm,
                           MAX_DELIVER, order_wait_s)

    async def conversation(self, **spec: Any) -> str:
        agents = AgentHandlers(self.store, SystemClock())
        agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", **spec}))
        await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
        view = await ConversationHandlers(self.store, SystemClock()).create(
            CreateConversation(tenant_id=TENANT, agent_id=agent.id, channel="api")
        )
        return view.id

    async def detail(self, conversation_id: str) -> ConversationDetail:
        ref = ConversationRef(tenant_id=TENANT, conversation_id=conversation_id)
        return await ConversationHandlers(self.store, SystemClock()).get(ref)

    async def messages(self, conversation_id: str) -> list[MessageRow]:
        async with self.db.session() as session:
            return await ConversationRepository(session).messages(TENANT, conversation_id)

    async def outbox_seq(self) -> int:
        async with self.db.session() as session:
            seqs = (await session.execute(select(messaging.outbox.c.seq))).scalars().all()
        return max(seqs, default=0)

    async def events_after(self, seq: int) -> list[tuple[str, Envelope, Event]]:
        query = select(messaging.outbox).where(messaging.outbox.c.seq > seq).order_by(messaging.outbox.c.seq)
        async with self.db.session() as session:
            rows = (await session.execute(query)).all()
        return [(row.subject, *parse_envelope(row.payload)) for row in rows]


def sent(turn: Delivery) -> MessageReceived:
    assert isinstance(turn.payload, MessageReceived)
    return turn.payload


def delivery(runtime: Runtime, conversation_id: str, text: str, *, attempt: int = 1,
             tenant_id: str = TENANT, sequence: int | None = None) -> Delivery:
    """A delivery as the consumer policy builds it from what the gateway published."""
    payload = MessageReceived(conversation_id=conversation_id, message_id=new_id("msg"), channel="api", text=text,
                              sent_at=datetime.now(UTC), sequence=sequence)
    envelope = envelope_for(payload, tenant_id=tenant_id, source="gateway")
    return Delivery(envelope, payload, attempt, CONSUMER, runtime.uow)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'agent-runtime.db'}")
    await migrate(db, "afo_agent_runtime.migrations")
    uow = UnitOfWorkFactory(db, messaging, "agent-runtime", on_commit=lambda: None)
    store = sql_store(uow)
    recorder = RealtimeRecorder(db)
    llm = LlmEngines(api_key=None)
    await llm.start()
    try:
        turns = TurnHandler("agent-runtime", store, SystemClock(), Realtime(recorder), llm, MAX_DELIVER)
        yield Runtime(db, uow, store, recorder, llm, turns)
    finally:
        await llm.stop()
        await db.dispose()


def counted(metric: str, **labels: str) -> float:
    """A domain metric's value now (afo_agent_runtime.metrics), 0 before its first increment."""
    return REGISTRY.get_sample_value(metric, {"service": "agent-runtime", **labels}) or 0.0


def llm_spec(fake: FakeOpenAI) -> dict[str, Any]:
    return {"llm": {"provider": "openai", "model": "gpt-test", "base_url": fake.base_url}}


async def test_a_turn_records_both_messages_the_lead_and_its_events(runtime: Runtime) -> None:
    started, replies = counted("afo_conversations_started_total", channel="api"), counted(
        "afo_replies_total", channel="api", outcome="ok")
    timed = counted("afo_reply_seconds_count", channel="api")
    conversation_id = await runtime.conversation()
    before = await runtime.outbox_seq()
    turn = delivery(runtime, conversation_id, "Hi, I'm Dana from Acme Corp, my email is dana@acme.example")

    await runtime.turns(turn)

    assert counted("afo_conversations_started_total", channel="api") == started + 1
    assert counted("afo_replies_total", channel="api", outcome="ok") == replies + 1
    assert counted("afo_reply_seconds_count", channel="api") == timed + 1

    detail = await runtime.detail(conversation_id)
    user, reply = detail.messages
    assert (user.id, user.role, user.text) == (sent(turn).message_id, "user", sent(turn).text)
    assert (reply.role, reply.in_reply_to) == ("assistant", user.id)
    assert reply.text
    assert detail.lead is not None
    assert detail.lead.fields["email"] == "dana@acme.example"
    assert "Acme" in detail.lead.fields["company"]
    assert detail.lead_id == detail.lead.id
    assert [m.engine for m in await runtime.messages(conversation_id)] == [None, "embedded"]

    events = await runtime.events_after(before)
    assert [subject for subject, _, _ in events] == [
        f"afo.{TENANT}.lead.created", f"afo.{TENANT}.conversation.message_replied",
    ]
    created, replied = events[0][2], events[1][2]
    assert isinstance(created, LeadCreated)
    assert created.lead_id == detail.lead.id
    assert created.fields == detail.lead.fields
    assert isinstance(replied, MessageReplied)
    assert (replied.message_id, replied.in_reply_to, replied.text, replied.engine) == (
        reply.id, user.id, reply.text, "embedded")
    # Every event was caused by the message and shares its correlation id.
    assert {(e.causationid, e.correlationid) for _, e, _ in events} == {(turn.envelope.id, turn.envelope.correlationid)}


async def test_a_callers_first_words_are_answered_without_the_greeting_the_call_opened_with(
        runtime: Runtime) -> None:
    agents = AgentHandlers(runtime.store, SystemClock())
    agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", "greeting": "Hi, this is Ava."}))
    await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
    call = await ChannelHandlers(runtime.store, SystemClock()).for_call(CallConversation(
        tenant_id=TENANT, agent_id=agent.id, phone="+14155550142", request_id="CA0000000000000001"))
    assert call.greeting == "Hi, this is Ava."

    await runtime.turns(delivery(runtime, call.conversation_id, "What are your opening hours?"))

    greeting, _question, answer = (await runtime.detail(call.conversation_id)).messages
    assert greeting.text == "Hi, this is Ava."
    assert answer.role == "assistant" and "Hi, this is Ava" not in answer.text


async def test_the_turn_that_qualifies_the_lead_counts_it_once(runtime: Runtime) -> None:
    qualified = counted("afo_leads_qualified_total", channel="api")
    conversation_id = await runtime.conversation()
    for text in ("Hi there!", "I'm Dana from Northwind Traders, you can reach me at dana@northwind.example",
                 "We need an assistant that answers questions on our website", "Our budget is about $20k",
                 "We'd like to launch next quarter"):
        await runtime.turns(delivery(runtime, conversation_id, text))

    lead = (await runtime.detail(conversation_id)).lead
    assert lead is not None and lead.qualified
    assert counted("afo_leads_qualified_total", channel="api") == qualified + 1


async def test_deltas_stream_before_the_commit_and_completion_only_after_it(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation()
    turn = delivery(runtime, conversation_id, "Hi, I'm Dana from Acme Corp, my email is dana@acme.example")

    await runtime.turns(turn)

    reply = (await runtime.messages(conversation_id))[-1]
    kinds = runtime.realtime.kinds()
    deltas = runtime.realtime.of("reply_delta")
    assert len(deltas) == 1  # produced whole, sent whole: one message to fan out, not one per few words
    assert kinds == ["reply_delta", "reply_completed", "lead_updated"]
    assert [d.payload["index"] for d in deltas] == list(range(len(deltas)))
    assert "".join(d.payload["text"] for d in deltas) == reply.text
    assert {d.payload["message_id"] for d in deltas} == {reply.id}
    assert not any(d.reply_committed for d in deltas)
    (completed,) = runtime.realtime.of("reply_completed")
    assert completed.reply_committed
    assert completed.payload["message_id"] == reply.id
    assert completed.payload["in_reply_to"] == sent(turn).message_id
    assert completed.payload["text"] == reply.text
    assert completed.payload["engine"] == "embedded"
    assert completed.payload["lead"]["fields"]["email"] == "dana@acme.example"


async def test_the_same_delivery_twice_is_a_duplicate_that_reannounces_the_stored_reply(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation()
    turn = delivery(runtime, conversation_id, "Hello! What do you do?")
    await runtime.turns(turn)
    seq = await runtime.outbox_seq()
    messages = await runtime.messages(conversation_id)
    runtime.realtime.published.clear()

    with pytest.raises(DuplicateDelivery):
        await runtime.turns(turn)

    assert await runtime.messages(conversation_id) == messages
    assert await runtime.events_after(seq) == []
    (announced,) = runtime.realtime.published
    assert announced.kind == "reply_completed"
    assert announced.payload["message_id"] == messages[-1].id
    assert announced.payload["text"] == messages[-1].text
    assert announced.payload["engine"] == "embedded"


async def test_an_unknown_conversation_is_a_permanent_error(runtime: Runtime) -> None:
    with pytest.raises(PermanentError):
        await runtime.turns(delivery(runtime, new_id("conv"), "Hello?"))

    assert runtime.realtime.published == []


async def test_another_tenants_conversation_is_unknown(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation()
    seq = await runtime.outbox_seq()

    with pytest.raises(PermanentError):
        await runtime.turns(delivery(runtime, conversation_id, "Hello?", tenant_id="ten_other"))

    assert await runtime.messages(conversation_id) == []
    assert await runtime.events_after(seq) == []


async def test_an_llm_agent_streams_the_models_deltas_and_records_the_openai_engine(runtime: Runtime) -> None:
    script: list[Turn] = [
        ToolCalls([Call("update_lead", {"fields": {"email": "dana@acme.example", "company": "Acme Corp"}})]),
        Text("Thanks Dana! What does Acme need?"),
    ]
    async with FakeOpenAI(script) as fake:
        conversation_id = await runtime.conversation(**llm_spec(fake))
        before = await runtime.outbox_seq()
        await runtime.turns(delivery(runtime, conversation_id, "I'm Dana, dana@acme.example, from Acme Corp"))

    assert len(fake.requests) == 2
    assert fake.requests[0]["model"] == "gpt-test"
    assert fake.requests[0]["stream"] is True
    assert fake.requests[0]["messages"][-1] == {"role": "user",
                                                "content": "I'm Dana, dana@acme.example, from Acme Corp"}
    deltas = [d.payload["text"] for d in runtime.realtime.of("reply_delta")]
    # The first piece goes out at once; the model's next pieces, quick after it, travel together.
    assert deltas[0] == "Thanks " and "".join(deltas) == "Thanks Dana! What does Acme need?"
    assert len(deltas) < 6
    _user, reply = await runtime.messages(conversation_id)
    assert (reply.text, reply.engine, reply.intent) == ("Thanks Dana! What does Acme need?", "openai", "provide_info")
    (completed,) = runtime.realtime.of("reply_completed")
    assert completed.payload["engine"] == "openai"
    detail = await runtime.detail(conversation_id)
    assert detail.lead is not None
    assert detail.lead.fields == {"email": "dana@acme.example", "company": "Acme Corp"}
    replied = [event for _, _, event in await runtime.events_after(before) if isinstance(event, MessageReplied)]
    assert [(r.engine, r.text) for r in replied] == [("openai", reply.text)]


async def test_a_rejected_api_key_falls_back_to_the_embedded_engine(runtime: Runtime) -> None:
    fallbacks = counted("afo_replies_total", channel="api", outcome="fallback")
    async with FakeOpenAI([Text("never said")], api_key="sk-the-right-one") as fake:
        conversation_id = await runtime.conversation(**llm_spec(fake))
        await runtime.turns(delivery(runtime, conversation_id, "Hi, my email is dana@acme.example"))

    assert counted("afo_replies_total", channel="api", outcome="fallback") == fallbacks + 1

    assert len(fake.requests) == 1  # a 401 is not retried
    _user, reply = await runtime.messages(conversation_id)
    assert reply.engine == "embedded"
    # The reply says the model failed (what anomaly detection counts as an agent's reply error).
    [replied] = [e for _, _, e in await runtime.events_after(0) if isinstance(e, MessageReplied)]
    assert replied.fallback is True
    assert reply.text != "never said"
    assert "".join(d.payload["text"] for d in runtime.realtime.of("reply_delta")) == reply.text
    (completed,) = runtime.realtime.of("reply_completed")
    assert completed.payload["engine"] == "embedded"
    lead = (await runtime.detail(conversation_id)).lead
    assert lead is not None
    assert lead.fields["email"] == "dana@acme.example"


async def test_a_transient_provider_failure_is_retried_by_redelivery_until_the_last_one(runtime: Runtime) -> None:
    async with FakeOpenAI([Text("never said")]) as fake:
        conversation_id = await runtime.conversation(**llm_spec(fake))
        seq = await runtime.outbox_seq()
        fake.fail_next(100, 503, retry_after=0)
        first = delivery(runtime, conversation_id, "Hi, my email is dana@acme.example")

        with pytest.raises(ChatProviderError):
            await runtime.turns(first)
        assert await runtime.messages(conversation_id) == []
        assert await runtime.events_after(seq) == []
        assert runtime.realtime.published == []

        # The same event delivered for the last time gets an answer all the same.
        last = Delivery(first.envelope, first.payload, MAX_DELIVER, CONSUMER, runtime.uow)
        await runtime.turns(last)

    _user, reply = await runtime.messages(conversation_id)
    assert reply.engine == "embedded"
    assert runtime.realtime.of("reply_completed")[0].payload["engine"] == "embedded"


async def test_stop_on_an_llm_agent_never_calls_the_model_and_opts_the_lead_out(runtime: Runtime) -> None:
    script: list[Turn] = [
        ToolCalls([Call("update_lead", {"fields": {"email": "dana@acme.example"}})]),
        Text("Thanks! And your company?"),
    ]
    async with FakeOpenAI(script) as fake:
        conversation_id = await runtime.conversation(**llm_spec(fake))
        await runtime.turns(delivery(runtime, conversation_id, "dana@acme.example"))
        assert len(fake.requests) == 2
        fake.requests.clear()
        before = await runtime.outbox_seq()
        runtime.realtime.published.clear()

        await runtime.turns(delivery(runtime, conversation_id, "STOP"))

    assert fake.requests == []
    detail = await runtime.detail(conversation_id)
    assert detail.status == "opted_out"
    assert detail.lead is not None
    assert detail.lead.opted_out is True
    assert (await runtime.messages(conversation_id))[-1].engine == "embedded"
    events = [event for _, _, event in await runtime.events_after(before)]
    assert [type(e) for e in events] == [LeadUpdated, ConversationOptedOut, ConversationClosed, MessageReplied]
    assert isinstance(events[3], MessageReplied) and events[3].fallback is False  # the rules answer STOP: no error
    assert events[1] == ConversationOptedOut(conversation_id=conversation_id, lead_id=detail.lead.id, channel="api")
    # Opting out ends the conversation.
    assert events[2] == ConversationClosed(conversation_id=conversation_id, agent_id=detail.agent_id,
                                           reason="opted_out")
    assert (detail.closed_at, detail.close_reason) == (detail.updated_at, "opted_out")
    (completed,) = runtime.realtime.of("reply_completed")
    assert completed.payload["engine"] == "embedded"
    assert completed.payload["lead"]["opted_out"] is True


async def test_a_message_that_overtakes_an_earlier_one_waits_and_is_answered_after_it(runtime: Runtime) -> None:
    """Deliveries of one conversation can arrive out of order (replicas, retries): the answer order is
    the order the gateway accepted them in, so the engine sees "my email is…" before "book Tuesday"."""
    conversation_id = await runtime.conversation()
    first = delivery(runtime, conversation_id, "Hi, I'm Dana from Acme Corp", sequence=1)
    second = delivery(runtime, conversation_id, "my email is dana@acme.example", sequence=2)
    third = delivery(runtime, conversation_id, "we need a chatbot", sequence=3)

    later = [asyncio.create_task(runtime.turns(third)), asyncio.create_task(runtime.turns(second))]
    await asyncio.sleep(0.3)
    assert await runtime.messages(conversation_id) == []  # both wait for #1
    await runtime.turns(first)
    await asyncio.wait_for(asyncio.gather(*later), timeout=5)

    users = [m.id for m in await runtime.messages(conversation_id) if m.role == "user"]
    replies = [m.in_reply_to for m in await runtime.messages(conversation_id) if m.role == "assistant"]
    expected = [sent(first).message_id, sent(second).message_id, sent(third).message_id]
    assert users == expected and replies == expected


async def test_a_message_whose_predecessor_never_comes_is_answered_after_the_wait(tmp_path: Path,
                                                                                  runtime: Runtime) -> None:
    turns = runtime.turn_handler(order_wait_s=0.3)
    conversation_id = await runtime.conversation()
    orphan = delivery(runtime, conversation_id, "Hi, I'm Dana", sequence=2)  # #1 was dead-lettered

    await asyncio.wait_for(turns(orphan), timeout=5)

    assert [m.role for m in await runtime.messages(conversation_id)] == ["user", "assistant"]
    late_first = delivery(runtime, conversation_id, "hello?", sequence=1)
    await turns(late_first)  # a late predecessor is still answered, not dropped
    assert len(await runtime.messages(conversation_id)) == 4


async def test_a_create_retried_with_its_request_id_makes_one_agent_and_one_conversation(runtime: Runtime) -> None:
    clock = SystemClock()
    agents, conversations = AgentHandlers(runtime.store, clock), ConversationHandlers(runtime.store, clock)
    create_agent = CreateAgent(tenant_id=TENANT, spec={"name": "Ava"}, request_id="req-agent-0001")

    agent, again = await agents.create(create_agent), await agents.create(create_agent)
    other = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava"}, request_id="req-agent-0002"))
    await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
    create_conversation = CreateConversation(tenant_id=TENANT, agent_id=agent.id, channel="api",
                                             request_id="req-conv-0001")
    conversation = await conversations.create(create_conversation)
    retried = await conversations.create(create_conversation)

    assert again.id == agent.id and other.id != agent.id
    assert retried.id == conversation.id
    # Request ids are per tenant: another tenant's request never answers with this tenant's conversation.
    with pytest.raises(NotFound):
        await conversations.create(create_conversation.model_copy(update={"tenant_id": "ten_other"}))


async def test_a_turn_reads_the_time_from_its_clock(runtime: Runtime) -> None:
    """"Next Tuesday" is the Tuesday after the clock's today, in the agent's time zone."""
    new_york = ZoneInfo("America/New_York")
    turns = runtime.turn_handler(clock=FixedClock(datetime(2025, 10, 30, 10, 0, tzinfo=new_york)))
    conversation_id = await runtime.conversation(timezone="America/New_York")
    before = await runtime.outbox_seq()

    await turns(delivery(runtime, conversation_id, "Can we do a call next Tuesday at 3pm?"))

    (meeting,) = [e for _, _, e in await runtime.events_after(before) if isinstance(e, MeetingRequested)]
    assert meeting.start == datetime(2025, 11, 4, 15, 0, tzinfo=new_york)


async def test_a_meeting_asked_for_before_any_fact_makes_the_lead_it_is_booked_for(runtime: Runtime) -> None:
    turns = runtime.turn_handler(clock=FixedClock(datetime(2025, 10, 30, 10, 0, tzinfo=UTC)))
    conversation_id = await runtime.conversation()
    before = await runtime.outbox_seq()

    await turns(delivery(runtime, conversation_id, "Can we do a call next Tuesday at 3pm?"))

    events = [e for _, _, e in await runtime.events_after(before)]
    (created,) = [e for e in events if isinstance(e, LeadCreated)]
    (meeting,) = [e for e in events if isinstance(e, MeetingRequested)]
    assert meeting.lead_id == created.lead_id and created.conversation_id == conversation_id


async def test_an_sms_turn_carries_its_reply_route_onto_the_reply(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation()
    before = await runtime.outbox_seq()
    route = ReplyRoute(channel="sms", to="+14155550199", sender="+14155550100")
    payload = MessageReceived(conversation_id=conversation_id, message_id=new_id("msg"), channel="sms",
                              text="I'm Dana, dana@acme.example", sent_at=datetime.now(UTC), reply_route=route)
    await runtime.turns(Delivery(envelope_for(payload, tenant_id=TENANT, source="gateway"), payload, 1, CONSUMER,
                                 runtime.uow))

    [replied] = [e for _, _, e in await runtime.events_after(before) if isinstance(e, MessageReplied)]
    detail = await runtime.detail(conversation_id)
    assert (replied.reply_route, replied.lead_id, replied.agent_id) == (route, detail.lead_id, detail.agent_id)
