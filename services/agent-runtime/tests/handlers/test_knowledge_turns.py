"""Turns that answer from the tenant's documents, on a fake search (the port) and a real migrated database
(SQLite, then PostgreSQL): who is searched for what, and where the citations go — the stored message, the
message_replied event, the reply_completed notice (which the gateway's ?wait=true reply and SSE relay) and
the conversation as GET /v1/conversations/{id} reads it. Citations stored as a turn stores them read back
the same on every backend (memory too)."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from afo_agent_runtime.adapters.conversation_repository import MessageRow
from afo_agent_runtime.adapters.store import sql_store
from afo_agent_runtime.adapters.tables import messaging
from afo_agent_runtime.domain.knowledge import KnowledgeUnavailable, Passage
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.turns import TurnHandler
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.clock import SystemClock
from afo_common.db import Database
from afo_common.events import Event, envelope_for, parse_envelope
from afo_common.events.conversation import Citation, HandoffRequested, MessageReceived, MessageReplied
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import AgentRef, ConversationDetail, ConversationRef, CreateAgent, CreateConversation
from afo_testkit.clock import T0, SteppingClock
from afo_testkit.openai_server import Call, FakeOpenAI, Text, ToolCalls
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.stores import committed_events, migrated_database

TurnWriter = Callable[[str, MessageRow], Awaitable[None]]
TENANT = "ten_knowledge"
CONSUMER = "agent-runtime-message-received"
ENCRYPTION = Passage("Data security\nAll data is encrypted at rest with AES-256 and in transit with TLS 1.2.",
                     "Security whitepaper", 12, "doc_security", 0.03, relevance=0.5, chunk_id="chk_1",
                     knowledge_base_id="kb_1")
CITED = Citation(index=1, document_id="doc_security", title="Security whitepaper", page=12, chunk_id="chk_1",
                 snippet="All data is encrypted at rest with AES-256 and in transit with TLS 1.2.")


@dataclass
class FakeKnowledge:
    passages: list[Passage] = field(default_factory=lambda: [ENCRYPTION])
    fail: bool = False
    searches: list[dict[str, Any]] = field(default_factory=list)

    async def search(self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int) -> list[Passage]:
        self.searches.append({"tenant_id": tenant_id, "kbs": knowledge_base_ids, "query": query, "top_k": top_k})
        if self.fail:
            raise KnowledgeUnavailable("timeout: knowledge-ingest did not answer search in time")
        return self.passages


@dataclass
class Runtime:
    db: Database
    uow: UnitOfWorkFactory
    store: Store
    knowledge: FakeKnowledge
    notices: list[tuple[str, dict[str, Any]]]
    turns: TurnHandler

    async def conversation(self, **spec: Any) -> str:
        agents = AgentHandlers(self.store, SystemClock())
        agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", **spec}))
        await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
        view = await ConversationHandlers(self.store, SystemClock()).create(
            CreateConversation(tenant_id=TENANT, agent_id=agent.id, channel="api"))
        return view.id

    def delivery(self, conversation_id: str, text: str) -> Delivery:
        payload = MessageReceived(conversation_id=conversation_id, message_id=new_id("msg"), channel="api",
                                  text=text, sent_at=datetime.now(UTC))
        return Delivery(envelope_for(payload, tenant_id=TENANT, source="gateway"), payload, 1, CONSUMER, self.uow)

    async def detail(self, conversation_id: str) -> ConversationDetail:
        ref = ConversationRef(tenant_id=TENANT, conversation_id=conversation_id)
        return await ConversationHandlers(self.store, SystemClock()).get(ref)

    def completed(self) -> list[dict[str, Any]]:
        return [payload for kind, payload in self.notices if kind == "reply_completed"]


async def events(runtime: Runtime) -> list[Event]:
    """Every event the turns committed (the outbox), parsed."""
    return [parse_envelope(e.model_dump_json().encode())[1] for e in await committed_events(runtime.db, messaging)]


@pytest.fixture(params=["sqlite", "postgres"])
async def runtime(request: pytest.FixtureRequest, tmp_path: Path,
                  postgres_server: PostgresDatabases | str) -> AsyncIterator[Runtime]:
    db = await migrated_database(request.param, tmp_path, postgres_server, "afo_agent_runtime.migrations")
    uow = UnitOfWorkFactory(db, messaging, "agent-runtime", on_commit=lambda: None)
    notices: list[tuple[str, dict[str, Any]]] = []

    async def publish(subject: str, body: bytes) -> None:
        notices.append((subject.rsplit(".", 1)[-1], json.loads(body)))

    knowledge = FakeKnowledge()
    llm = LlmEngines(api_key=None, knowledge=knowledge)
    await llm.start()
    store = sql_store(uow)
    turns = TurnHandler("agent-runtime", store, SystemClock(), Realtime(publish), llm, 5, knowledge=knowledge)
    try:
        yield Runtime(db, uow, store, knowledge, notices, turns)
    finally:
        await llm.stop()
        await db.dispose()


async def test_a_question_is_searched_in_the_agents_bases_and_the_cited_answer_reaches_every_reader(
    runtime: Runtime,
) -> None:
    conversation_id = await runtime.conversation(knowledge_base_ids=["kb_1", "kb_2"])
    turn = runtime.delivery(conversation_id, "Hi! Is my data encrypted?")

    await runtime.turns(turn)

    assert runtime.knowledge.searches == [
        {"tenant_id": TENANT, "kbs": ["kb_1", "kb_2"], "query": "Is my data encrypted?", "top_k": 5}]
    reply = (await runtime.detail(conversation_id)).messages[-1]
    assert "All data is encrypted at rest with AES-256 and in transit with TLS 1.2 [1]." in reply.text
    assert reply.citations == [CITED]
    replied = [event for event in await events(runtime) if isinstance(event, MessageReplied)]
    assert [r.citations for r in replied] == [[CITED]]
    (completed,) = runtime.completed()
    assert completed["text"] == reply.text
    assert [Citation.model_validate(c) for c in completed["citations"]] == [CITED]

    # A redelivery after a crash re-announces the stored reply with its citations.
    runtime.notices.clear()
    with pytest.raises(DuplicateDelivery):
        await runtime.turns(turn)
    assert [Citation.model_validate(c) for c in runtime.completed()[0]["citations"]] == [CITED]


async def test_messages_that_ask_nothing_are_not_searched(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation(knowledge_base_ids=["kb_1"])

    for text in ("Hi, I'm Dana from Acme Corp", "dana@acme.example", "can we meet Tuesday at 3pm?", "STOP"):
        await runtime.turns(runtime.delivery(conversation_id, text))

    assert runtime.knowledge.searches == []
    assert all(m.citations == [] for m in (await runtime.detail(conversation_id)).messages)


async def test_an_agent_without_knowledge_bases_is_never_searched(runtime: Runtime) -> None:
    conversation_id = await runtime.conversation()

    await runtime.turns(runtime.delivery(conversation_id, "Is my data encrypted?"))

    assert runtime.knowledge.searches == []
    assert "I don't have any documents to answer that from yet" in runtime.completed()[0]["text"]


async def test_a_failed_search_still_answers_and_a_yes_hands_off(runtime: Runtime) -> None:
    runtime.knowledge.fail = True
    conversation_id = await runtime.conversation(knowledge_base_ids=["kb_1"])

    await runtime.turns(runtime.delivery(conversation_id, "Is my data encrypted?"))
    await runtime.turns(runtime.delivery(conversation_id, "yes please"))

    detail = await runtime.detail(conversation_id)
    apology, handoff = detail.messages[1].text, detail.messages[3].text
    assert "I can't look that up right now — would you like me to connect you with someone from the team?" in apology
    assert "passing this conversation to a person" in handoff
    assert detail.status == "handed_off"
    handoffs = [event for event in await events(runtime) if isinstance(event, HandoffRequested)]
    assert len(handoffs) == 1 and "accepted the offer of a person" in handoffs[0].reason


async def test_an_llm_agents_citations_are_stored_and_announced(runtime: Runtime) -> None:
    script = [ToolCalls([Call("search_knowledge", {"query": "encryption"})]), Text("Yes, it is encrypted [1].")]
    async with FakeOpenAI(script) as fake:
        conversation_id = await runtime.conversation(
            knowledge_base_ids=["kb_1"], llm={"provider": "openai", "model": "gpt-test", "base_url": fake.base_url})
        await runtime.turns(runtime.delivery(conversation_id, "Is my data encrypted?"))

    reply = (await runtime.detail(conversation_id)).messages[-1]
    assert (reply.text, reply.engine) == ("Yes, it is encrypted [1].", "openai")
    (citation,) = reply.citations
    assert (citation.index, citation.chunk_id, citation.page) == (1, "chk_1", 12)
    assert runtime.completed()[0]["citations"] == [citation.model_dump(mode="json")]


async def test_citations_are_read_back_as_written_on_every_backend(store: Store, written: TurnWriter) -> None:
    clock = SteppingClock()
    agents = AgentHandlers(store, clock)
    agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava"}))
    await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
    conversations = ConversationHandlers(store, clock)
    view = await conversations.create(CreateConversation(tenant_id=TENANT, agent_id=agent.id, channel="api"))
    second = CITED.model_copy(update={"index": 2, "page": None, "chunk_id": None, "snippet": None})
    row = MessageRow(new_id("msg"), view.id, "assistant", "Encrypted [1], audited [2].", T0, intent="question",
                     engine="embedded", citations=(CITED.model_dump(mode="json"), second.model_dump(mode="json")))

    await written(TENANT, row)

    (message,) = (await conversations.get(ConversationRef(tenant_id=TENANT, conversation_id=view.id))).messages
    assert message.citations == [CITED, second]
