"""A workflow's ``handoff`` step in the conversation: the conversation is handed off as the agent's own handoff
hands it off — status, the analytics' handed-off time, an agent that stops asking for what is missing, a notice on
the conversation's stream — once however often the event arrives; the agent's own handoff coming back changes
nothing; an opt-out keeps its status; another tenant's conversation is a dead letter."""

from __future__ import annotations

import pytest

from afo_agent_runtime.handlers.handoffs import Handoffs
from afo_agent_runtime.handlers.realtime import Realtime
from afo_common.events import envelope_for
from afo_common.events.conversation import HandoffRequested, MessageReplied
from afo_common.messaging.consumer import Delivery, DuplicateDelivery, PermanentError
from afo_testkit.clock import FixedClock

from .test_meeting_results import NOW, TENANT, Runtime
from .test_meeting_results import runtime as runtime  # the fixture

CONSUMER = "agent-runtime-handoff-requested"


def handoff(runtime: Runtime, tenant: str = TENANT, source: str = "workflow-executor") -> Delivery:
    event = HandoffRequested(conversation_id=runtime.conversation_id, agent_id=runtime.agent_id, lead_id=None,
                             reason="enterprise pricing: sales takes it")
    return Delivery(envelope_for(event, tenant_id=tenant, source=source), event, 1, CONSUMER, runtime.uow)


def handoffs(runtime: Runtime) -> Handoffs:
    return Handoffs(FixedClock(NOW), Realtime(runtime.realtime))


async def handed_off_at(runtime: Runtime) -> object:
    async with runtime.store.reading() as repos:
        row = await repos.conversations.get(TENANT, runtime.conversation_id)
    assert row is not None
    return row.handed_off_at


async def test_a_workflows_handoff_hands_the_conversation_over_once(runtime: Runtime) -> None:
    await runtime.say("Hi, I'm Dana")
    assert (await runtime.detail()).status == "open" and await handed_off_at(runtime) is None
    runtime.realtime.published.clear()

    delivery = handoff(runtime)
    await handoffs(runtime)(delivery)
    with pytest.raises(DuplicateDelivery):
        await handoffs(runtime)(delivery)

    assert (await runtime.detail()).status == "handed_off" and await handed_off_at(runtime) is not None
    assert runtime.realtime.published == [("handoff", {"type": "handoff",
                                                       "reason": "enterprise pricing: sales takes it"})]
    # The agent no longer asks for what it is missing (the company, the email): a person is coming.
    seq = await runtime.outbox_seq()
    await runtime.say("ok thanks")
    [reply] = [e for e in await runtime.events_after(seq) if isinstance(e, MessageReplied)]
    assert "team" in reply.text and "?" not in reply.text


async def test_the_agents_own_handoff_coming_back_changes_nothing(runtime: Runtime) -> None:
    await runtime.say("Hi, I'm Dana, can I talk to a person please?")
    before = await runtime.detail()
    assert before.status == "handed_off"
    revision = await revision_of(runtime)

    await handoffs(runtime)(handoff(runtime, source="agent-runtime"))

    assert await revision_of(runtime) == revision


async def test_an_opted_out_conversation_keeps_its_status_and_counts_as_handed_off(runtime: Runtime) -> None:
    await runtime.say("STOP")
    await handoffs(runtime)(handoff(runtime))
    assert (await runtime.detail()).status == "opted_out" and await handed_off_at(runtime) is not None


async def test_another_tenants_conversation_is_a_dead_letter(runtime: Runtime) -> None:
    with pytest.raises(PermanentError):
        await handoffs(runtime)(handoff(runtime, tenant="ten_other"))


async def revision_of(runtime: Runtime) -> int:
    async with runtime.store.reading() as repos:
        row = await repos.conversations.get(TENANT, runtime.conversation_id)
    assert row is not None
    return row.revision
