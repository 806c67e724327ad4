"""Live notices of conversations (the gateway's SSE streams and ``?wait=true`` callers, voice-media's calls): one
core NATS subscription per process on ``afo.rt.>``, fanned out in memory to the listeners of each conversation.

A subscription per open stream would cost a subscription's task, queue and interest on the server for every
open chat widget or call; one wildcard costs a dictionary lookup per notice. The notice's kind travels in its
subject, so nothing here parses its JSON: the bytes go on as they came."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from afo_common.messaging.connection import NatsConnection
from afo_common.realtime import NoticeKind, parse_subject
from afo_common.subjects import REALTIME_PREFIX, realtime_subject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveNotice:
    kind: NoticeKind
    data: bytes


Sink = Callable[[LiveNotice], None]


class ConversationFeed:
    def __init__(self, nats: NatsConnection) -> None:
        self._nats = nats
        self._sinks: dict[tuple[str, str], list[Sink]] = {}
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._nats.client.subscribe(f"{REALTIME_PREFIX}.>", cb=self._on_message)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    @contextmanager
    def listen(self, tenant_id: str, conversation_id: str, sink: Sink) -> Iterator[None]:
        """``sink`` gets every notice of the conversation from now until the block ends. It is called on the
        event loop and must not block."""
        key = (tenant_id, conversation_id)
        self._sinks.setdefault(key, []).append(sink)
        try:
            yield
        finally:
            sinks = self._sinks[key]
            sinks.remove(sink)
            if not sinks:
                del self._sinks[key]

    @asynccontextmanager
    async def following(self, tenant_id: str, conversation_id: str, sink: Sink) -> AsyncIterator[None]:
        """``listen`` for a process that follows a few conversations among many (voice-media, a conversation per
        call): a subscription of its own to this conversation's subjects instead of ``start``'s wildcard, so the
        process is not sent every other conversation's reply deltas. A feed uses one way or the other."""
        with self.listen(tenant_id, conversation_id, sink):
            subscription = await self._nats.client.subscribe(realtime_subject(tenant_id, conversation_id, "*"),
                                                             cb=self._on_message)
            try:
                yield
            finally:
                await subscription.unsubscribe()

    async def _on_message(self, msg: Msg) -> None:
        parsed = parse_subject(msg.subject)
        if parsed is None:
            log.warning("ignored a real-time message on %s", msg.subject)
            return
        tenant_id, conversation_id, kind = parsed
        for sink in self._sinks.get((tenant_id, conversation_id), ()):
            sink(LiveNotice(kind, msg.data))
