"""A tenant's workflow asking the agent to book a meeting with the lead (``workflow.booking_requested``: "when a
lead is qualified with budget over 10k, book a demo on the sales calendar"): the agent says so in the lead's
conversation and asks for a time — the lead's answer is then booked the way a time the lead proposes always is
(``meeting.requested``, workflow-executor's calendar).

Like a meeting's answer (``meeting_results.py``): in the delivery's transaction with its inbox row, the
conversation's revision checked, the message recorded and emitted as ``conversation.message_replied`` (routed
to the lead's phone or email for an SMS or inbound-source conversation, ``routes.py``) and pushed on the
conversation's stream. A request with no conversation, for a lead who opted out, or in a conversation that
already holds a meeting has nothing to say; one for a conversation this tenant does not have is a dead
letter."""

from __future__ import annotations

from afo_agent_runtime.adapters.conversation_repository import MessageRow
from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_agent_runtime.domain.turn import ConversationMemory
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.routes import conversation_state, route_of
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_agent_runtime.handlers.views import lead_view
from afo_common import realtime as rt
from afo_common.clock import Clock
from afo_common.events.conversation import MessageReplied
from afo_common.events.workflow_runs import BookingRequested
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery

INTENT = "meeting_offered"


def offer(title: str | None, name: str | None) -> str:
    what = f"a {title}" if title else "a meeting"
    hello = f"{name}, I" if name else "I"
    return f"{hello}'d love to set up {what} with you. What day and time work best for you?"


class BookingOffers:
    def __init__(self, store: Store, clock: Clock, realtime: Realtime) -> None:
        self._store, self._clock, self._realtime = store, clock, realtime

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, BookingRequested)
        if event.conversation_id is None:
            return
        tenant_id = delivery.envelope.tenantid
        state = await conversation_state(delivery, event.conversation_id)
        conversation, lead = state.conversation, state.lead
        memory = ConversationMemory.from_json(conversation.memory)
        if memory.opted_out or (lead is not None and lead.opted_out) or memory.meeting_id is not None:
            return
        async with self._store.reading() as repos:
            route = await route_of(repos, conversation, lead)
        text = offer(event.title, (lead.fields.get("name") if lead else None) or memory.lead.get("name"))
        now, reply_id = self._clock.now(), new_id("msg")
        async with delivery.hot_transaction() as uow:
            store = TurnStore(uow.tx)
            await store.add_messages(tenant_id, MessageRow(
                id=reply_id, conversation_id=conversation.id, role="assistant", text=text, created_at=now,
                in_reply_to=delivery.envelope.id, intent=INTENT, engine="embedded"))
            await store.save_turn_state(conversation, memory=conversation.memory, status=conversation.status,
                                        lead_id=conversation.lead_id, last_sequence=conversation.last_sequence,
                                        now=now)
            await uow.emit(MessageReplied(
                conversation_id=conversation.id, message_id=reply_id, in_reply_to=delivery.envelope.id, text=text,
                engine="embedded", intent=INTENT, first_delta_ms=0.0, completed_ms=0.0, reply_route=route,
                agent_id=conversation.agent_id, lead_id=conversation.lead_id),
                tenant_id=tenant_id, causation=delivery.envelope)
            view = lead_view(lead) if lead is not None else None

            async def announce() -> None:
                await self._realtime.send(tenant_id, conversation.id, rt.ReplyCompleted(
                    message_id=reply_id, in_reply_to=delivery.envelope.id, text=text, intent=INTENT,
                    engine="embedded", lead=view))

            uow.after_commit(announce)
