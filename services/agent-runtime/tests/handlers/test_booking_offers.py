"""A workflow's ``book_meeting`` step in the conversation: the agent asks the lead for a time (once, however
often the request arrives), says nothing to a lead who opted out or already has a meeting, and a request for a
conversation the tenant does not have is a dead letter."""

from __future__ import annotations

import pytest

from afo_agent_runtime.handlers.booking_offers import BookingOffers
from afo_agent_runtime.handlers.realtime import Realtime
from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReplied
from afo_common.events.workflow_runs import BookingRequested
from afo_common.messaging.consumer import Delivery, DuplicateDelivery, PermanentError
from afo_testkit.clock import FixedClock

from .test_meeting_results import NOW, TENANT, Runtime
from .test_meeting_results import runtime as runtime  # the fixture


def request(runtime: Runtime, conversation_id: str | None = None, tenant: str = TENANT) -> Delivery:
    event = BookingRequested(workflow_id="wfl_1", run_id="wfr_1", step=0, idempotency_key="wfr_1:0",
                             lead_id=None, conversation_id=conversation_id or runtime.conversation_id,
                             agent_id=runtime.agent_id, title="demo", calendar="sales")
    envelope = envelope_for(event, tenant_id=tenant, source="workflow-executor")
    return Delivery(envelope, event, 1, "agent-runtime-booking-requested", runtime.uow)


def offers(runtime: Runtime) -> BookingOffers:
    return BookingOffers(runtime.store, FixedClock(NOW), Realtime(runtime.realtime))


async def test_the_agent_asks_the_lead_for_a_time_once(runtime: Runtime) -> None:
    await runtime.say("Hi, I'm Dana from Acme Corp, my email is dana@acme.example")
    seq = await runtime.outbox_seq()
    runtime.realtime.published.clear()
    delivery = request(runtime)
    await offers(runtime)(delivery)
    with pytest.raises(DuplicateDelivery):
        await offers(runtime)(delivery)
    [said] = [e for e in await runtime.events_after(seq) if isinstance(e, MessageReplied)]
    assert said.intent == "meeting_offered" and said.reply_route is None
    assert "set up a demo with you" in said.text and said.text.endswith("What day and time work best for you?")
    assert [m.text for m in (await runtime.detail()).messages][-1] == said.text
    assert runtime.realtime.kinds()[-1] == "reply_completed"


async def test_nothing_is_said_to_a_lead_who_opted_out_or_already_booked(runtime: Runtime) -> None:
    await runtime.say("Hi, I'm Dana from Acme Corp, my email is dana@acme.example")
    await runtime.results(runtime.delivery(runtime.booked()))
    seq = await runtime.outbox_seq()
    await offers(runtime)(request(runtime))
    assert [e for e in await runtime.events_after(seq) if isinstance(e, MessageReplied)] == []

    await runtime.say("STOP")
    seq = await runtime.outbox_seq()
    await offers(runtime)(request(runtime))
    assert [e for e in await runtime.events_after(seq) if isinstance(e, MessageReplied)] == []


async def test_another_tenants_conversation_is_a_dead_letter(runtime: Runtime) -> None:
    with pytest.raises(PermanentError):
        await offers(runtime)(request(runtime, tenant="ten_other"))
