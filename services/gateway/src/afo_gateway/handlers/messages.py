"""A lead's message into a conversation: recorded as ``conversation.message_received`` through the
outbox (so nothing is lost once accepted), optionally waiting for the agent's reply."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from afo_common.events.conversation import MessageReceived
from afo_common.ids import new_id
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_gateway.adapters.conversation_feed import ConversationFeed
from afo_gateway.adapters.sequence_repository import SequenceRepository
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.owners import Owners

MAX_TEXT = 8000


@dataclass(frozen=True)
class Posted:
    message_id: str
    conversation_id: str
    reply: dict[str, Any] | None
    lead: dict[str, Any] | None = None


class Messages:
    def __init__(self, unit_of_work: UnitOfWorkFactory, owners: Owners, feed: ConversationFeed) -> None:
        self._uow = unit_of_work
        self._owners = owners
        self.feed = feed

    async def post(self, principal: Principal, conversation_id: str, text: str, *, wait: bool,
                   timeout_s: float) -> Posted:
        require(principal, Permission.WRITE, publishable=True)
        conversation = await self._owners.conversation(principal, conversation_id)
        message_id = new_id("msg")
        event = MessageReceived(conversation_id=conversation.id, message_id=message_id,
                                channel=conversation.channel, text=text, sent_at=datetime.now(UTC))
        if not wait:
            await self._record(principal, event)
            return Posted(message_id, conversation.id, None)
        # Listen before recording, so a fast reply cannot slip past.
        async with self.feed.open(principal.tenant_id, conversation.id) as feed:
            await self._record(principal, event)
            return await self._await_reply(feed, message_id, conversation.id, timeout_s)

    async def _record(self, principal: Principal, event: MessageReceived) -> None:
        async with self._uow() as uow:
            sequence = await SequenceRepository(uow.session).next(principal.tenant_id, event.conversation_id)
            await uow.emit(event.model_copy(update={"sequence": sequence}), tenant_id=principal.tenant_id)

    @staticmethod
    async def _await_reply(feed: asyncio.Queue[dict[str, Any]], message_id: str, conversation_id: str,
                           timeout_s: float) -> Posted:
        reply: dict[str, Any] | None = None
        lead: dict[str, Any] | None = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while reply is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                notice = await asyncio.wait_for(feed.get(), remaining)
            except TimeoutError:
                break
            if notice.get("type") == "reply.completed" and notice.get("in_reply_to") == message_id:
                reply = notice
        if reply is not None:
            lead = reply.pop("lead", None)
            reply.pop("type", None)
        return Posted(message_id, conversation_id, reply, lead)
