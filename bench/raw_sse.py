"""Server-sent event streams for the load generator, read with asyncio streams and a substring search:
two hundred streams through httpx would spend more CPU in the client than the gateway spends serving them
(see raw_http.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

Listener = Callable[[str, str], None]  # (event name, the in_reply_to it is about)

_REPLY_TO = b'"in_reply_to":'


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
        reader, writer = await asyncio.open_connection(self._host, self._port)
        head = "".join(f"{k}: {v}\r\n" for k, v in self._headers.items())
        writer.write(f"GET {self._path} HTTP/1.1\r\nHost: {self._host}\r\nAccept: text/event-stream\r\n"
                     f"{head}\r\n".encode())
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        while await reader.readline() not in (b"\r\n", b""):
            pass
        buffer = b""
        try:
            while size_line := await reader.readline():
                size = int(size_line.strip() or b"0", 16)
                chunk = await reader.readexactly(size + 2)
                buffer += chunk[:-2]
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    self._dispatch(event)
        finally:
            writer.close()

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
