"""The agent's replies that must leave the conversation: a ``conversation.message_replied`` with a
``reply_route`` (an SMS conversation's answer, or the opening message to a lead from an inbound source) becomes a
notification of kind ``reply``, due at once, that the scheduler sends like any other — by SMS through the tenant's
Twilio account from the agent's number (``sender``; the sink without credentials), or by email — and records.

Not sent (recorded ``skipped`` with the reason): the answer to an opt-out itself (the carrier and Twilio
confirm a STOP; nothing more may be sent), and any reply to a lead whose contact is opted out. The
notification's id comes from the reply's, so a replayed event cannot make a second one."""

from __future__ import annotations

from typing import cast

from afo_common.clock import Clock
from afo_common.events.conversation import MessageReplied
from afo_common.messaging.consumer import Delivery
from afo_notifier.domain.planning import OPTED_OUT
from afo_notifier.domain.records import NotificationRow
from afo_notifier.handlers.unit_of_work import Store

OPT_OUT_INTENT = "opt_out"
SUBJECT = "Re: your enquiry"


def reply_id(message_id: str) -> str:
    return f"ntf_{message_id.removeprefix('msg_')}"[:40]


class Replies:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock

    async def replied(self, delivery: Delivery) -> None:
        event = cast(MessageReplied, delivery.payload)
        route = event.reply_route
        if route is None:
            return  # a chat's reply: the conversation's own stream carries it
        tenant, now = delivery.envelope.tenantid, self._clock.now()
        async with self._store.handling(delivery) as uow:
            contact = await uow.contacts.get(tenant, event.lead_id) if event.lead_id else None
            skipped = event.intent == OPT_OUT_INTENT or (contact is not None and contact.opted_out)
            await uow.notifications.add(NotificationRow(
                id=reply_id(event.message_id), tenant_id=tenant, meeting_id=None, lead_id=event.lead_id,
                kind="reply", channel=route.channel, to=route.to, subject=SUBJECT if route.channel == "email" else None,
                body=event.text, ics=None, send_at=now, status="skipped" if skipped else "scheduled",
                error=OPTED_OUT if skipped else None, provider=None, provider_id=None, claimed_by=None,
                claimed_until=None, sent_at=None, created_at=now, updated_at=now, sender=route.sender))
