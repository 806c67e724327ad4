"""A live feed of one conversation: core NATS subscription on ``afo.rt.<tenant>.<conversation>.>``."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.subjects import realtime_conversation

log = logging.getLogger(__name__)
FEED_BUFFER = 1024


class ConversationFeed:
    def __init__(self, nats: NatsConnection) -> None:
        self._nats = nats

    @asynccontextmanager
    async def open(self, tenant_id: str, conversation_id: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(FEED_BUFFER)

        async def on_message(msg: Msg) -> None:
            try:
                queue.put_nowait(json.loads(msg.data))
            except asyncio.QueueFull:
                log.warning("a slow reader of %s dropped a real-time notice", conversation_id)
            except ValueError:
                log.warning("malformed real-time notice on %s", msg.subject)

        subscription = await self._nats.client.subscribe(
            realtime_conversation(tenant_id, conversation_id), cb=on_message
        )
        try:
            yield queue
        finally:
            await subscription.unsubscribe()
