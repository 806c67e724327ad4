"""What a message the agent says on its own needs: the conversation it goes into, and where it goes.

Where a message the agent says on its own — not an answer to the lead's last message: a meeting's booking,
failure or cancellation, an offer a tenant's workflow asks for — goes besides the conversation's own stream.

An answer follows the route of the message it answers (``reply_route``, set by the channel it came in on). A
message of the agent's own has none to follow: for a conversation held by SMS, or one an inbound source
started, it goes to the lead's phone from the agent's first number, else to the lead's email; for a chat or API
conversation, the stream is where the lead is, and it goes nowhere else."""

from __future__ import annotations

from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow
from afo_agent_runtime.adapters.turn_store import TurnState, TurnStore
from afo_agent_runtime.handlers.unit_of_work import Repositories
from afo_common.events.conversation import ReplyRoute
from afo_common.messaging.consumer import Delivery, DuplicateDelivery, PermanentError

ROUTED_CHANNELS = frozenset({"sms", "webhook"})


async def conversation_state(delivery: Delivery, conversation_id: str) -> TurnState:
    """The conversation the event speaks in, with its lead, read on the driver like a turn's; a conversation
    this tenant does not have is a dead letter, an event already handled (the inbox) a duplicate."""
    async with delivery.hot_read() as tx:
        state = await TurnStore(tx).turn_state(delivery.envelope.tenantid, conversation_id, delivery.consumer,
                                               delivery.envelope.id)
    if state is None:
        raise PermanentError(f"conversation {conversation_id} does not exist for this tenant")
    if state.already_processed:
        raise DuplicateDelivery(delivery.envelope.id)
    return state


async def route_of(repos: Repositories, conversation: ConversationRow, lead: LeadRow | None) -> ReplyRoute | None:
    if conversation.channel not in ROUTED_CHANNELS or lead is None:
        return None
    phone, email = lead.fields.get("phone"), lead.fields.get("email")
    if phone:
        numbers = await repos.channels.numbers(conversation.tenant_id, conversation.agent_id)
        if numbers or conversation.channel == "sms":
            return ReplyRoute(channel="sms", to=phone, sender=numbers[0] if numbers else None)
    if email:
        return ReplyRoute(channel="email", to=email)
    return None
