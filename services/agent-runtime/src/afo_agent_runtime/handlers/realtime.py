"""Real-time notices of a conversation (``afo.rt.<tenant>.<conversation>.<kind>``): reply deltas while the
reply is being produced, then completion, lead and handoff notices after the commit.

Each notice costs a NATS message, a fan-out in the gateway and a write on every open stream, so deltas are
few: a reply produced whole (the embedded engine) goes out as one delta, and a model's tokens are
gathered for ``COALESCE_S`` after the first one (which goes out at once: it is the latency users feel)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from afo_common.realtime import Notice, ReplyDelta, notice_subject

Publish = Callable[[str, bytes], Awaitable[None]]

COALESCE_S = 0.05


class Realtime:
    def __init__(self, publish: Publish) -> None:
        self._publish = publish

    async def send(self, tenant_id: str, conversation_id: str, notice: Notice) -> None:
        await self._publish(notice_subject(tenant_id, conversation_id, notice), notice.to_bytes())


class DeltaStream:
    """The deltas of one reply, numbered, with the time the first left (the number users feel)."""

    def __init__(self, realtime: Realtime, tenant_id: str, conversation_id: str, message_id: str,
                 in_reply_to: str, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._realtime = realtime
        self._tenant_id = tenant_id
        self._conversation_id = conversation_id
        self._message_id = message_id
        self._in_reply_to = in_reply_to
        self._started = clock()
        self._pending = ""
        self._sent_at = 0.0
        self.index = 0
        self.first_delta_ms: float | None = None

    async def delta(self, text: str) -> None:
        """A piece of a reply as a model streams it: sent at once if it is the first, else gathered until
        ``COALESCE_S`` has passed since the last delta (a piece waits at most for the model's next one,
        and ``finish`` sends what is left)."""
        if not text:
            return
        self._pending += text
        if self.index == 0 or self._clock() - self._sent_at >= COALESCE_S:
            await self._send()

    async def text(self, reply: str) -> None:
        """A reply produced whole: one delta."""
        self._pending += reply
        await self._send()

    async def finish(self) -> None:
        if self._pending:
            await self._send()

    async def _send(self) -> None:
        now = self._clock()
        if self.first_delta_ms is None:
            self.first_delta_ms = (now - self._started) * 1000
        text, self._pending, self._sent_at = self._pending, "", now
        await self._realtime.send(self._tenant_id, self._conversation_id, ReplyDelta(
            message_id=self._message_id, in_reply_to=self._in_reply_to, index=self.index, text=text))
        self.index += 1

    def elapsed_ms(self) -> float:
        return (self._clock() - self._started) * 1000
