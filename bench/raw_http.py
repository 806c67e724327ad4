"""A minimal HTTP/1.1 keep-alive client for the load generator. httpx costs ~4 ms of CPU per request on
this machine, as much as the gateway itself; on two shared cores that would measure the client."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class RawHttp:
    def __init__(self, host: str, port: int, connections: int) -> None:
        self._host = host
        self._port = port
        self._size = connections
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self._opened = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._idle.empty() and self._opened < self._size:
            self._opened += 1
            return await asyncio.open_connection(self._host, self._port)
        return await self._idle.get()

    async def post(self, path: str, headers: dict[str, str], payload: dict[str, Any]) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n{head}\r\n").encode() + body
        reader, writer = await self._connection()
        writer.write(request)
        status_line = await reader.readline()
        if not status_line:
            # The server closed the connection while it was idle (its keep-alive timeout: a reply that took
            # longer under load than the timeout); it read nothing of the request, which is sent again on a
            # new connection.
            writer.close()
            reader, writer = await asyncio.open_connection(self._host, self._port)
            writer.write(request)
            status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        content = await reader.readexactly(length)
        self._idle.put_nowait((reader, writer))
        return int(status_line.split()[1]), content

    async def close(self) -> None:
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()
