"""The live streams open in this process (SSE streams, the realtime feed's WebSockets), by the principal that
opened them, so that one which loses its access (key revoked, session ended, user demoted) or a gateway that
is draining can end them at once.

Each SSE stream reads one queue that carries its conversation's notices, a keep-alive every ``HEARTBEAT_S``
(one ticker for all streams) and, last, why it ended: reading it is one ``await`` per item. Any other kind
of stream that can be kept alive and ended (``LiveStream``) is registered with ``track``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from afo_common.conversation_feed import LiveNotice
from afo_common.realtime import parse_reply_completed
from afo_gateway.domain.access import Permission, Principal

log = logging.getLogger(__name__)
HEARTBEAT_S = 15.0
# Notices waiting for a reader that does not keep up; past it new notices are dropped (an ending never is).
BACKLOG = 1024
REMEMBERED_REPLIES = 64


@dataclass(frozen=True)
class Ending:
    event: str            # the final SSE event's name
    reason: str
    reconnect: bool       # whether the client should open the stream again (it may, and is authorized anew)


class KeepAlive:
    """A comment that keeps proxies from closing an idle stream."""


KEEP_ALIVE = KeepAlive()
DRAINING = Ending("reconnect", "the gateway is restarting", reconnect=True)
KEY_REVOKED = Ending("revoked", "the key was revoked", reconnect=False)
SESSION_ENDED = Ending("revoked", "the session ended", reconnect=False)
DEMOTED = Ending("revoked", "the user's role changed", reconnect=True)

StreamItem = LiveNotice | KeepAlive | Ending


class LiveStream(Protocol):
    """What the registry needs of a stream: whose it is, a nudge when idle, and an end."""

    @property
    def principal(self) -> Principal: ...

    def keep_alive(self) -> None: ...

    def end(self, ending: Ending) -> None: ...


S = TypeVar("S", bound=LiveStream)


class OpenStream:
    """One SSE stream's queue. A reply is put on it once: agent-runtime announces a stored reply again when the
    message is redelivered after a crash or a lost acknowledgement (real-time notices are at least once), and
    the stream drops the repeat of one of its last ``REMEMBERED_REPLIES``."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.items: asyncio.Queue[StreamItem] = asyncio.Queue()
        self._ended = False
        self._replies: deque[str] = deque(maxlen=REMEMBERED_REPLIES)

    def deliver(self, notice: LiveNotice) -> None:
        if notice.kind == "reply.completed":
            message_id = parse_reply_completed(notice.data).message_id
            if message_id in self._replies:
                return
            self._replies.append(message_id)
        if self.items.qsize() >= BACKLOG:
            log.warning("a slow reader's stream dropped a real-time notice")
            return
        self.items.put_nowait(notice)

    def keep_alive(self) -> None:
        if self.items.empty():
            self.items.put_nowait(KEEP_ALIVE)

    def end(self, ending: Ending) -> None:
        if not self._ended:
            self._ended = True
            self.items.put_nowait(ending)


class LiveStreams:
    def __init__(self, draining: asyncio.Event) -> None:
        self._draining = draining
        self._by_subject: dict[str, set[LiveStream]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._end_all_when_draining()),
                       asyncio.create_task(self._keep_alive())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextmanager
    def open(self, principal: Principal) -> Iterator[OpenStream]:
        with self.track(OpenStream(principal)) as stream:
            yield stream

    @contextmanager
    def track(self, stream: S) -> Iterator[S]:
        """Register ``stream`` until the block ends: it is kept alive, and ended when its principal loses
        access or the gateway drains (at once if it already is)."""
        if self._draining.is_set():
            stream.end(DRAINING)
        subject_id = stream.principal.subject_id
        streams = self._by_subject.setdefault(subject_id, set())
        streams.add(stream)
        try:
            yield stream
        finally:
            streams.discard(stream)
            if not streams:
                self._by_subject.pop(subject_id, None)

    def key_revoked(self, key_id: str) -> None:
        for stream in self._of(key_id):
            stream.end(KEY_REVOKED)

    def session_ended(self, user_id: str, session_digest: str) -> None:
        for stream in self._of(user_id):
            if stream.principal.credential == session_digest:
                stream.end(SESSION_ENDED)

    def role_changed(self, user_id: str, permissions: frozenset[Permission]) -> None:
        """Streams opened with more rights than the user now has end; the client may open them again,
        and is then authorized under the new role."""
        for stream in self._of(user_id):
            if not stream.principal.permissions <= permissions:
                stream.end(DEMOTED)

    def _of(self, subject_id: str) -> list[LiveStream]:
        return list(self._by_subject.get(subject_id, ()))

    def _all(self) -> list[LiveStream]:
        return [stream for streams in self._by_subject.values() for stream in streams]

    async def _end_all_when_draining(self) -> None:
        await self._draining.wait()
        for stream in self._all():
            stream.end(DRAINING)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for stream in self._all():
                stream.keep_alive()
