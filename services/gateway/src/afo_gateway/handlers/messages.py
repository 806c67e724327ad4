"""A lead's message into a conversation: recorded as ``conversation.message_received`` through the
outbox (so nothing is lost once accepted), optionally waiting for the agent's reply."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from afo_common.clock import Clock
from afo_common.conversation_feed import ConversationFeed, LiveNotice
from afo_common.events.conversation import MessageReceived
from afo_common.ids import new_id
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.realtime import parse_reply_completed
from afo_gateway.adapters.plans_repository import count_message
from afo_gateway.adapters.sequence_repository import SequenceRepository
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.quotas import Quotas

MAX_TEXT = 8000


@dataclass(frozen=True)
class Posted:
    message_id: str
    conversation_id: str
    reply: dict[str, Any] | None
    lead: dict[str, Any] | None = None


class Messages:
    """On every message's path: the sequence and the outbox row are written on the driver itself
    (``UnitOfWorkFactory.hot``), not through the store's repositories."""

    def __init__(self, unit_of_work: UnitOfWorkFactory, owners: Owners, feed: ConversationFeed,
                 clock: Clock, quotas: Quotas) -> None:
        self._quotas = quotas
        self._uow = unit_of_work
        self._clock = clock
        self._owners = owners
        self.feed = feed

    async def post(self, principal: Principal, conversation_id: str, text: str, *, wait: bool,
                   timeout_s: float) -> Posted:
        require(principal, Permission.WRITE, publishable=True)
        conversation = await self._owners.conversation(principal, conversation_id)
        await self._quotas.admit_message(principal.tenant_id)
        message_id = new_id("msg")
        event = MessageReceived(conversation_id=conversation.id, message_id=message_id,
                                channel=conversation.channel, text=text, sent_at=self._clock.now(),
                                key_id=principal.subject_id if principal.kind != "user" else None)
        if not wait:
            await self._record(principal, event)
            return Posted(message_id, conversation.id, None)
        # Listen before recording, so a fast reply cannot slip past.
        notices: asyncio.Queue[LiveNotice] = asyncio.Queue()
        with self.feed.listen(principal.tenant_id, conversation.id, notices.put_nowait):
            await self._record(principal, event)
            return await self._await_reply(notices, message_id, conversation.id, timeout_s)

    async def _record(self, principal: Principal, event: MessageReceived) -> None:
        async with self._uow.hot() as uow:
            sequence = await SequenceRepository(uow.tx).next(principal.tenant_id, event.conversation_id)
            await uow.emit(event.model_copy(update={"sequence": sequence}), tenant_id=principal.tenant_id)
            await count_message(uow.tx, principal.tenant_id, event.sent_at)

    @staticmethod
    async def _await_reply(notices: asyncio.Queue[LiveNotice], message_id: str, conversation_id: str,
                           timeout_s: float) -> Posted:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (remaining := deadline - loop.time()) > 0:
            try:
                notice = await asyncio.wait_for(notices.get(), remaining)
            except TimeoutError:
                break
            if notice.kind != "reply.completed":
                continue
            completed = parse_reply_completed(notice.data)
            if completed.in_reply_to == message_id:
                reply = completed.model_dump(mode="json", exclude={"type", "lead"})
                lead = completed.lead.model_dump(mode="json") if completed.lead is not None else None
                return Posted(message_id, conversation_id, reply, lead)
        return Posted(message_id, conversation_id, None)
