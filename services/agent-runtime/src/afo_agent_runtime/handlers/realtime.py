"""Real-time notifications of a conversation (``afo.rt.<tenant>.<conversation>.<kind>``): reply deltas
while the reply is being produced, then completion, lead and handoff notices after the commit."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.subjects import realtime_subject

Publish = Callable[[str, bytes], Awaitable[None]]

_WORDS = re.compile(r"\S+\s*")
WORDS_PER_DELTA = 4


class Realtime:
    def __init__(self, publish: Publish) -> None:
        self._publish = publish

    async def send(self, tenant_id: str, conversation_id: str, kind: str, payload: dict[str, Any]) -> None:
        body = json.dumps({"type": kind, **payload}, default=str).encode()
        await self._publish(realtime_subject(tenant_id, conversation_id, kind.replace(".", "_")), body)


class DeltaStream:
    """The deltas of one reply, numbered, with the time the first left (the number users feel)."""

    def __init__(self, realtime: Realtime, tenant_id: str, conversation_id: str, message_id: str,
                 in_reply_to: str) -> None:
        self._realtime = realtime
        self._tenant_id = tenant_id
        self._conversation_id = conversation_id
        self._message_id = message_id
        self._in_reply_to = in_reply_to
        self._started = time.perf_counter()
        self.index = 0
        self.first_delta_ms: float | None = None

    async def delta(self, text: str) -> None:
        if not text:
            return
        if self.first_delta_ms is None:
            self.first_delta_ms = (time.perf_counter() - self._started) * 1000
        await self._realtime.send(
            self._tenant_id, self._conversation_id, "reply.delta",
            {"message_id": self._message_id, "in_reply_to": self._in_reply_to, "index": self.index,
             "text": text},
        )
        self.index += 1

    async def text(self, reply: str) -> None:
        """Stream a reply that was produced whole (the embedded engine) a few words at a time."""
        words = _WORDS.findall(reply)
        for start in range(0, len(words), WORDS_PER_DELTA):
            await self.delta("".join(words[start:start + WORDS_PER_DELTA]))

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._started) * 1000
