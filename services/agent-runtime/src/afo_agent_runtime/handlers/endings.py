"""Conversations end — closed over the API, or idle past the agent's timeout (a scheduled check; an opt-out
ends one inside its turn) — each once: ending is a conditional update, so of two closers (two replicas'
checks, a close racing an opt-out) one ends it and emits ``conversation.closed``, and the other does nothing."""

from __future__ import annotations

import logging

from afo_agent_runtime.domain.errors import NotFound
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_agent_runtime.handlers.views import conversation_view
from afo_common.clock import Clock
from afo_common.events.conversation import ConversationClosed
from afo_common.rpcs.agent_runtime import ConversationRef, ConversationView

log = logging.getLogger(__name__)

IDLE_BATCH = 200


class ConversationEndings:
    def __init__(self, store: Store, clock: Clock, batch: int = IDLE_BATCH) -> None:
        self._store = store
        self._clock = clock
        self._batch = batch

    async def close(self, request: ConversationRef) -> ConversationView:
        """Ends the conversation; closing an ended one again answers it as it is."""
        now = self._clock.now()
        async with self._store() as uow:
            row = await uow.conversations.get(request.tenant_id, request.conversation_id)
            if row is None:
                raise NotFound("conversation", request.conversation_id)
            if await uow.conversations.close(row.tenant_id, row.id, "closed", now):
                await uow.emit(ConversationClosed(conversation_id=row.id, agent_id=row.agent_id, reason="closed"),
                               tenant_id=row.tenant_id)
                row = await uow.conversations.get(row.tenant_id, row.id) or row
        return conversation_view(row)

    async def check_idle(self) -> None:
        """The scheduled job: ends idle conversations until none is left over."""
        while await self.close_idle() >= self._batch:
            pass

    async def close_idle(self) -> int:
        """Ends every conversation whose idle time has come (a batch per call); how many this call ended.
        Each is claimed in a transaction of its own, so a failure leaves the others ended."""
        now = self._clock.now()
        async with self._store.reading() as repos:
            due = await repos.conversations.idle(now, self._batch)
        ended = 0
        for row in due:
            async with self._store() as uow:
                if await uow.conversations.close(row.tenant_id, row.id, "idle", now, idle_by=now):
                    await uow.emit(ConversationClosed(conversation_id=row.id, agent_id=row.agent_id, reason="idle"),
                                   tenant_id=row.tenant_id)
                    ended += 1
        if ended:
            log.info("ended %d idle conversations", ended)
        return ended
