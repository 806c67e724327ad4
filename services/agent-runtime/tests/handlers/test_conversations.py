"""Conversations and leads over RPC, on every backend (``conftest.py``): in memory, SQLite, PostgreSQL.
Messages and leads are written as a turn writes them (``written``)."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from afo_agent_runtime.adapters.conversation_repository import LeadRow, MessageRow
from afo_agent_runtime.domain.errors import Conflict, NotFound
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.events import Envelope
from afo_common.events.conversation import Contact
from afo_common.ids import new_id
from afo_common.rpcs.agent_runtime import (
    AgentRef,
    ConversationRef,
    ConversationView,
    CreateAgent,
    CreateConversation,
    LeadRef,
    ListConversations,
    ListLeads,
)
from afo_testkit.clock import T0, SteppingClock

Committed = Callable[[], Awaitable[list[Envelope]]]
TurnWriter = Callable[[str, MessageRow | LeadRow], Awaitable[None]]
TENANT = "ten_conversations"


async def published_agent(store: Store, clock: SteppingClock, tenant_id: str = TENANT) -> str:
    agents = AgentHandlers(store, clock)
    agent = await agents.create(CreateAgent(tenant_id=tenant_id, spec={"name": "Ava"}))
    await agents.publish(AgentRef(tenant_id=tenant_id, agent_id=agent.id))
    return agent.id


def started(agent_id: str, tenant_id: str = TENANT, request_id: str | None = None) -> CreateConversation:
    return CreateConversation(tenant_id=tenant_id, agent_id=agent_id, channel="web",
                              contact=Contact(name="Lee", email="lee@example.com"), request_id=request_id)


def lead(conversation: ConversationView, qualified: bool = False, tenant_id: str = TENANT) -> LeadRow:
    return LeadRow(new_id("lead"), tenant_id, conversation.id, conversation.agent_id, {"email": "lee@example.com"},
                   [] if qualified else ["company"], qualified, False, T0, T0)


async def test_a_conversation_starts_on_the_published_version_with_its_event(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agent_id = await published_agent(store, clock)
    conversations = ConversationHandlers(store, clock)

    view = await conversations.create(started(agent_id))

    assert (view.agent_id, view.agent_version, view.channel, view.status, view.lead_id) == (agent_id, 1, "web",
                                                                                           "open", None)
    assert view.created_at == view.updated_at == T0 + timedelta(seconds=2)
    assert view.contact == Contact(name="Lee", email="lee@example.com")
    ref = ConversationRef(tenant_id=TENANT, conversation_id=view.id)
    assert await conversations.check(ref) == view
    event = (await committed())[-1]
    assert (event.type, event.tenantid) == ("afo.conversation.started.v1", TENANT)
    assert event.data["conversation_id"] == view.id and event.data["agent_version"] == 1


async def test_an_unknown_or_unpublished_agent_starts_nothing(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agent = await AgentHandlers(store, clock).create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava"}))
    conversations = ConversationHandlers(store, clock)
    before = await committed()

    with pytest.raises(Conflict):
        await conversations.create(started(agent.id))
    with pytest.raises(NotFound):
        await conversations.create(started("agt_missing"))

    assert (await conversations.list(ListConversations(tenant_id=TENANT))).data == []
    assert await committed() == before


async def test_a_conversation_reads_with_its_messages_in_order_and_its_lead(
    store: Store, clock: SteppingClock, written: TurnWriter
) -> None:
    conversations = ConversationHandlers(store, clock)
    view = await conversations.create(started(await published_agent(store, clock)))
    hello = MessageRow(new_id("msg"), view.id, "user", "hi", T0)
    answer = MessageRow(new_id("msg"), view.id, "assistant", "Hello!", T0 + timedelta(seconds=1),
                        in_reply_to=hello.id, intent="greeting", engine="embedded",
                        citations=({"index": 1, "document_id": "doc_1", "title": "Pricing", "page": 2},))
    for row in (answer, hello, lead(view)):
        await written(TENANT, row)

    detail = await conversations.get(ConversationRef(tenant_id=TENANT, conversation_id=view.id))

    assert [(m.id, m.role, m.in_reply_to) for m in detail.messages] == [(hello.id, "user", None),
                                                                        (answer.id, "assistant", hello.id)]
    assert detail.messages[1].citations[0].title == "Pricing"
    assert detail.lead is not None and detail.lead.fields == {"email": "lee@example.com"}


async def test_another_tenant_reaches_none_of_a_conversation_or_its_lead(
    store: Store, clock: SteppingClock, written: TurnWriter
) -> None:
    conversations = ConversationHandlers(store, clock)
    view = await conversations.create(started(await published_agent(store, clock)))
    row = lead(view, qualified=True)
    await written(TENANT, row)
    other = ConversationRef(tenant_id="ten_other", conversation_id=view.id)

    for attempt in (conversations.get(other), conversations.check(other),
                    conversations.lead(LeadRef(tenant_id="ten_other", lead_id=row.id))):
        with pytest.raises(NotFound):
            await attempt
    assert (await conversations.list(ListConversations(tenant_id="ten_other"))).data == []
    assert (await conversations.leads(ListLeads(tenant_id="ten_other"))).data == []
    assert (await conversations.lead(LeadRef(tenant_id=TENANT, lead_id=row.id))).qualified is True


async def test_conversations_page_newest_first_and_by_agent(store: Store, clock: SteppingClock) -> None:
    conversations = ConversationHandlers(store, clock)
    first_agent, second_agent = await published_agent(store, clock), await published_agent(store, clock)
    made = [await conversations.create(started(agent)) for agent in [first_agent, second_agent] * 2]
    ids = sorted((c.id for c in made), reverse=True)  # ids made within one millisecond sort in any order

    page = await conversations.list(ListConversations(tenant_id=TENANT, limit=3))
    rest = await conversations.list(ListConversations(tenant_id=TENANT, limit=3, cursor=page.next_cursor))
    of_second = await conversations.list(ListConversations(tenant_id=TENANT, agent_id=second_agent))

    assert [c.id for c in page.data + rest.data] == ids
    assert rest.next_cursor is None
    assert [c.id for c in of_second.data] == [i for i in ids if i in {made[1].id, made[3].id}]


async def test_leads_page_newest_first_and_filter_on_qualification(
    store: Store, clock: SteppingClock, written: TurnWriter
) -> None:
    conversations = ConversationHandlers(store, clock)
    agent_id = await published_agent(store, clock)
    rows = [lead(await conversations.create(started(agent_id)), qualified=n % 2 == 1) for n in range(4)]
    for row in rows:
        await written(TENANT, row)
    ids = sorted(r.id for r in rows)
    qualified = sorted(r.id for r in rows if r.qualified)

    first = await conversations.leads(ListLeads(tenant_id=TENANT, limit=3))
    rest = await conversations.leads(ListLeads(tenant_id=TENANT, limit=3, cursor=first.next_cursor))
    only_qualified = await conversations.leads(ListLeads(tenant_id=TENANT, qualified=True))
    unqualified = await conversations.leads(ListLeads(tenant_id=TENANT, qualified=False))

    assert [r.id for r in first.data + rest.data] == ids[::-1]
    assert [r.id for r in only_qualified.data] == qualified[::-1]
    assert {r.id for r in unqualified.data} == set(ids) - set(qualified)
    with pytest.raises(NotFound):
        await conversations.lead(LeadRef(tenant_id=TENANT, lead_id="lead_missing"))


async def test_a_create_retried_with_its_request_id_answers_with_the_first_conversation(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    conversations = ConversationHandlers(store, clock)
    agent_id = await published_agent(store, clock)

    first = await conversations.create(started(agent_id, request_id="req-conv-0001"))
    again = await conversations.create(started(agent_id, request_id="req-conv-0001"))

    assert again == first
    assert [e.type for e in await committed()].count("afo.conversation.started.v1") == 1
    # Request ids are per tenant: another tenant's retry never answers with this tenant's conversation.
    with pytest.raises(NotFound):
        await conversations.create(started(agent_id, tenant_id="ten_other", request_id="req-conv-0001"))
