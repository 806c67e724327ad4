"""A person asked to take a conversation over from outside its turns (``handoff.requested`` from a tenant's
workflow: "when a lead asks about enterprise pricing, hand off to sales"): the conversation is marked handed off
as the agent's own handoff marks it — its status, the analytics' handed-off time (containment counts it), and the
memory that makes the agent stop asking for what is still missing — and the lead's page is told on the
conversation's stream.

The agent's own ``handoff.requested`` comes back here too and finds the conversation handed off already: nothing
to do. A conversation the lead opted out of keeps that status; one that ended keeps its end and is counted as
handed off. In the delivery's transaction with its inbox row, the conversation's revision checked (a turn that
wrote meanwhile makes it a retry); one this tenant does not have is a dead letter."""

from __future__ import annotations

from dataclasses import replace

from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_agent_runtime.domain.turn import ConversationMemory
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.routes import conversation_state
from afo_common import realtime as rt
from afo_common.clock import Clock
from afo_common.events.conversation import HandoffRequested
from afo_common.messaging.consumer import Delivery

HANDED_OFF = "handed_off"
# Statuses a handoff does not replace.
KEPT = frozenset({HANDED_OFF, "opted_out"})


class Handoffs:
    def __init__(self, clock: Clock, realtime: Realtime) -> None:
        self._clock, self._realtime = clock, realtime

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, HandoffRequested)
        tenant_id = delivery.envelope.tenantid
        conversation = (await conversation_state(delivery, event.conversation_id)).conversation
        memory = ConversationMemory.from_json(conversation.memory)
        if memory.handoff_requested and conversation.handed_off_at is not None:
            return
        async with delivery.hot_transaction() as uow:
            await TurnStore(uow.tx).save_turn_state(
                conversation, memory=replace(memory, handoff_requested=True).to_json(),
                status=conversation.status if conversation.status in KEPT else HANDED_OFF,
                lead_id=conversation.lead_id, last_sequence=conversation.last_sequence, now=self._clock.now(),
                handed_off=True)

            async def announce() -> None:
                await self._realtime.send(tenant_id, conversation.id, rt.Handoff(reason=event.reason))

            uow.after_commit(announce)
