"""Conversations end and are analysed once, on every backend (memory, SQLite, PostgreSQL): closed over the
RPC, or idle past the agent's timeout (the scheduled check); ``conversation.closed`` once however many
closers race; the analysis (embedded, or the agent's model answering by the schema against a local
OpenAI-compatible server) stored once, on the conversation and the lead's summary, with
``conversation.analyzed``."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import pytest

from afo_agent_runtime.adapters.conversation_repository import LeadRow, MessageRow
from afo_agent_runtime.domain.errors import NotFound
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.analyses import ConversationAnalyses
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.endings import ConversationEndings
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.events import Envelope, envelope_for
from afo_common.events.conversation import ConversationAnalyzed, ConversationClosed
from afo_common.messaging.consumer import Delivery, PermanentError
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import AgentRef, ConversationRef, CreateAgent, CreateConversation
from afo_testkit.clock import FixedClock
from afo_testkit.openai_server import FakeOpenAI, Text

TENANT = "ten_endings"
CONSUMER = "agent-runtime-conversation-closed"


@pytest.fixture
async def llm() -> AsyncIterator[LlmEngines]:
    engines = LlmEngines(api_key=None)
    await engines.start()
    yield engines
    await engines.stop()


async def conversation(store: Store, clock: FixedClock, **spec: Any) -> tuple[str, str]:
    agents = AgentHandlers(store, clock)
    agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", **spec}))
    await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
    view = await ConversationHandlers(store, clock).create(
        CreateConversation(tenant_id=TENANT, agent_id=agent.id, channel="api"))
    return agent.id, view.id


def closed_events(events: list[Envelope]) -> list[ConversationClosed]:
    return [ConversationClosed.model_validate(e.data) for e in events if e.type.endswith("conversation.closed.v1")]


def delivery_of(store: Store, envelope: Envelope) -> Delivery:
    payload = ConversationClosed.model_validate(envelope.data)
    units = cast(UnitOfWorkFactory, getattr(store, "units", None))  # the SQL stores' deliveries need it
    return Delivery(envelope, payload, 1, CONSUMER, units)


async def test_closing_emits_closed_once_and_answers_the_closed_conversation(store: Store, committed: Any) -> None:
    clock = FixedClock()
    _, conversation_id = await conversation(store, clock)
    endings = ConversationEndings(store, clock)
    ref = ConversationRef(tenant_id=TENANT, conversation_id=conversation_id)

    first = await endings.close(ref)
    clock.advance(timedelta(minutes=1))
    again = await endings.close(ref)

    assert (first.close_reason, first.closed_at) == ("closed", clock.now() - timedelta(minutes=1))
    assert again == first
    (closed,) = closed_events(await committed())
    assert closed.conversation_id == conversation_id and closed.reason == "closed"


async def test_closing_another_tenants_conversation_is_not_found(store: Store, committed: Any) -> None:
    _, conversation_id = await conversation(store, FixedClock())

    with pytest.raises(NotFound):
        await ConversationEndings(store, FixedClock()).close(
            ConversationRef(tenant_id="ten_other", conversation_id=conversation_id))

    assert closed_events(await committed()) == []


async def test_the_idle_check_ends_only_conversations_past_their_agents_timeout_once(store: Store,
                                                                                   committed: Any) -> None:
    clock = FixedClock()
    _, quick = await conversation(store, clock, idle_timeout_minutes=5)
    _, patient = await conversation(store, clock)  # the default, 30 minutes
    endings = ConversationEndings(store, clock)

    clock.advance(timedelta(minutes=4))
    assert await endings.close_idle() == 0
    clock.advance(timedelta(minutes=2))
    assert await endings.close_idle() == 1
    # A second replica's check at the same moment finds nothing left to end.
    assert await ConversationEndings(store, clock).close_idle() == 0
    clock.advance(timedelta(minutes=30))
    await endings.check_idle()

    closed = closed_events(await committed())
    assert [(c.conversation_id, c.reason) for c in closed] == [(quick, "idle"), (patient, "idle")]


async def test_a_closed_conversation_is_analysed_once_and_shown_with_its_lead(
    store: Store, committed: Any, written: Any, llm: LlmEngines
) -> None:
    clock = FixedClock()
    agent_id, conversation_id = await conversation(store, clock)
    await written(TENANT, MessageRow(id="msg_1", conversation_id=conversation_id, role="user",
                                     text="I'm Dana from Acme Corp. We need a booking system for our clinics.",
                                     created_at=clock.now()))
    await written(TENANT, LeadRow(id="lead_1", tenant_id=TENANT, conversation_id=conversation_id, agent_id=agent_id,
                                  fields={"company": "Acme Corp"}, missing_fields=["email"], qualified=False,
                                  opted_out=False, created_at=clock.now(), updated_at=clock.now()))
    endings = ConversationEndings(store, clock)
    ref = ConversationRef(tenant_id=TENANT, conversation_id=conversation_id)
    await endings.close(ref)
    await endings.close(ref)  # closing twice: one closed event, so one analysis
    (closed_envelope,) = [e for e in await committed() if e.type.endswith("conversation.closed.v1")]
    analyses = ConversationAnalyses(store, llm)
    delivery = delivery_of(store, closed_envelope)

    await analyses(delivery)
    await analyses(delivery)  # redelivered: the analysis is there, nothing more is done

    detail = await ConversationHandlers(store, clock).get(ref)
    assert detail.analysis is not None
    assert detail.analysis.summary == "I'm Dana from Acme Corp. We need a booking system for our clinics."
    assert (detail.analysis.outcome, detail.analysis.engine) == ("lost", "embedded")
    assert detail.lead is not None and detail.lead.summary == detail.analysis.summary
    analyzed = [e for e in await committed() if e.type.endswith("conversation.analyzed.v1")]
    assert len(analyzed) == 1
    event = ConversationAnalyzed.model_validate(analyzed[0].data)
    assert (event.lead_id, event.summary, event.engine) == ("lead_1", detail.analysis.summary, "embedded")
    assert analyzed[0].causationid == closed_envelope.id


async def test_a_replayed_close_finds_the_analysis_done(store: Store, committed: Any, llm: LlmEngines) -> None:
    clock = FixedClock()
    _, conversation_id = await conversation(store, clock)
    await ConversationEndings(store, clock).close(ConversationRef(tenant_id=TENANT, conversation_id=conversation_id))
    (closed,) = [e for e in await committed() if e.type.endswith("conversation.closed.v1")]
    analyses = ConversationAnalyses(store, llm)
    await analyses(delivery_of(store, closed))

    # The same event published again (a new envelope id: the inbox does not know it).
    replayed = envelope_for(ConversationClosed.model_validate(closed.data), tenant_id=TENANT, source="agent-runtime")
    await analyses(delivery_of(store, replayed))

    assert len([e for e in await committed() if e.type.endswith("conversation.analyzed.v1")]) == 1


async def test_an_unknown_conversation_is_a_dead_letter(store: Store, llm: LlmEngines) -> None:
    payload = ConversationClosed(conversation_id="conv_missing", agent_id="agt_1", reason="closed")
    envelope = envelope_for(payload, tenant_id=TENANT, source="agent-runtime")

    with pytest.raises(PermanentError):
        await ConversationAnalyses(store, llm)(delivery_of(store, envelope))


async def analysed_by(store: Store, committed: Any, llm: LlmEngines, fake: FakeOpenAI) -> Any:
    clock = FixedClock()
    spec = {"llm": {"provider": "openai", "model": "gpt-test", "base_url": fake.base_url}}
    _, conversation_id = await conversation(store, clock, **spec)
    ref = ConversationRef(tenant_id=TENANT, conversation_id=conversation_id)
    await ConversationEndings(store, clock).close(ref)
    (closed,) = [e for e in await committed() if e.type.endswith("conversation.closed.v1")]
    await ConversationAnalyses(store, llm)(delivery_of(store, closed))
    return (await ConversationHandlers(store, clock).get(ref)).analysis


async def test_with_a_model_the_analysis_is_its_structured_answer(store: Store, committed: Any,
                                                                  llm: LlmEngines) -> None:
    answer = {"summary": "Dana wants a booking system for three clinics.", "outcome": "booked",
              "facts": {"invented": "yes"}, "next_step": "Send Dana a proposal."}
    async with FakeOpenAI([Text(json.dumps(answer))]) as fake:
        analysis = await analysed_by(store, committed, llm, fake)
        (request,) = fake.requests

    assert request["response_format"]["type"] == "json_schema"
    assert set(request["response_format"]["json_schema"]["schema"]["required"]) >= {"summary", "outcome", "facts"}
    assert analysis.engine == "openai"
    assert (analysis.summary, analysis.next_step) == (answer["summary"], answer["next_step"])
    # The outcome and facts stay what the conversation recorded: a model cannot invent a booking.
    assert (analysis.outcome, analysis.facts) == ("lost", {})


@pytest.mark.parametrize("reply", [
    "Sure! Here is the analysis: it went well.",  # not JSON
    json.dumps({"summary": "ok", "outcome": "delighted", "facts": {}}),  # not the schema
    json.dumps({"summary": "", "outcome": "lost", "facts": {}}),
])
async def test_a_model_answer_off_the_schema_is_refused_and_the_embedded_analysis_stands(
    store: Store, committed: Any, llm: LlmEngines, reply: str
) -> None:
    async with FakeOpenAI([Text(reply)]) as fake:
        analysis = await analysed_by(store, committed, llm, fake)

    assert analysis.engine == "embedded" and analysis.summary == "The lead gave no details."
