"""Server-sent event streams for the load generator, read with asyncio streams and a substring search:
two hundred streams through httpx would spend more CPU in the client than the gateway spends serving them
(see raw_http.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

Listener = Callable[[str, str], None]  # (event name, the in_reply_to it is about)

_REPLY_TO = b'"in_reply_to":'


class StreamRefused(RuntimeError):
    """The server answered the stream's request with another status than 200."""


async def sse_events(host: str, port: int, path: str, headers: dict[str, str]) -> AsyncIterator[bytes]:
    """Each event of one ``GET path`` over HTTP/1.1 chunked transfer, as its raw bytes (comments included), until
    the server ends the stream; StreamRefused unless it answers 200."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n{head}\r\n".encode())
        status = await reader.readline()
        if b" 200 " not in status:
            raise StreamRefused(f"stream refused: {status!r}")
        while await reader.readline() not in (b"\r\n", b""):
            pass
        buffer = b""
        while size_line := await reader.readline():
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                return
            buffer += (await reader.readexactly(size + 2))[:-2]
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                yield event
    finally:
        writer.close()


class SseStream:
    """One ``GET …/stream`` over HTTP/1.1 chunked transfer: calls ``on_event`` for each reply event."""

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str], on_event: Listener) -> None:
        self._host, self._port, self._path, self._headers = host, port, path, headers
        self._on_event = on_event
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._task

    async def _run(self) -> None:
        async for event in sse_events(self._host, self._port, self._path, self._headers):
            self._dispatch(event)

    def _dispatch(self, event: bytes) -> None:
        if event.startswith(b": connected"):
            self.connected.set()
            return
        name_at = event.find(b"event: ")
        if name_at < 0:
            return
        name = event[name_at + 7:event.index(b"\n", name_at)].decode()
        at = event.find(_REPLY_TO)
        if at >= 0:
            start = event.index(b'"', at + len(_REPLY_TO)) + 1
            self._on_event(name, event[start:event.index(b'"', start)].decode())
