"""The SSE streams open in this process, by the principal that opened them, so that one which loses its
access (key revoked, session ended, user demoted) or a gateway that is draining can end them at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from afo_gateway.domain.access import Permission, Principal


@dataclass(frozen=True)
class Ending:
    event: str            # the final SSE event's name
    reason: str
    reconnect: bool       # whether the client should open the stream again (it may, and is authorized anew)


DRAINING = Ending("reconnect", "the gateway is restarting", reconnect=True)
KEY_REVOKED = Ending("revoked", "the key was revoked", reconnect=False)
SESSION_ENDED = Ending("revoked", "the session ended", reconnect=False)
DEMOTED = Ending("revoked", "the user's role changed", reconnect=True)


class OpenStream:
    def __init__(self, principal: Principal, draining: asyncio.Event) -> None:
        self.principal = principal
        self._ended = asyncio.Event()
        self._draining = draining
        self._ending: Ending | None = None

    def end(self, ending: Ending) -> None:
        if self._ending is None:
            self._ending = ending
            self._ended.set()

    async def ended(self) -> Ending:
        """Returns once the stream must end, and why."""
        waits = {asyncio.ensure_future(self._ended.wait()), asyncio.ensure_future(self._draining.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return self._ending or DRAINING


class LiveStreams:
    def __init__(self, draining: asyncio.Event) -> None:
        self._draining = draining
        self._by_subject: dict[str, set[OpenStream]] = {}

    @contextmanager
    def open(self, principal: Principal) -> Iterator[OpenStream]:
        stream = OpenStream(principal, self._draining)
        streams = self._by_subject.setdefault(principal.subject_id, set())
        streams.add(stream)
        try:
            yield stream
        finally:
            streams.discard(stream)
            if not streams:
                self._by_subject.pop(principal.subject_id, None)

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

    def _of(self, subject_id: str) -> list[OpenStream]:
        return list(self._by_subject.get(subject_id, ()))
