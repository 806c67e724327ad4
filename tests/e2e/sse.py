"""Reading a conversation's server-sent events in an e2e test, the way EventSource does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx


class SseReader:
    """Opens ``url`` and records every event until the server ends the stream (or ``until`` is seen)."""

    def __init__(self, client: httpx.AsyncClient, url: str, *, params: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None, until: str | None = None) -> None:
        self.connected = asyncio.Event()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.retry_ms: int | None = None
        self.status_code: int | None = None
        self._until = until
        self.task = asyncio.create_task(self._read(client, url, params or {}, headers or {}))

    async def _read(self, client: httpx.AsyncClient, url: str, params: Mapping[str, str],
                    headers: Mapping[str, str]) -> None:
        async with client.stream("GET", url, params=params, headers=headers) as response:
            self.status_code = response.status_code
            if response.status_code != 200:
                self.connected.set()
                return
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            async for line in response.aiter_lines():
                if line == ": connected":
                    self.connected.set()
                elif line.startswith("retry: "):
                    self.retry_ms = int(line.removeprefix("retry: "))
                elif line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line.removeprefix("data: "))))
                    if kind == self._until:
                        return

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    async def opened(self, timeout_s: float = 10.0) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout_s)
        assert self.status_code == 200, self.status_code

    async def ended(self, timeout_s: float) -> None:
        await asyncio.wait_for(self.task, timeout_s)
