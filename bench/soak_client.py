"""The soak's client side of the public API: requests sent again (with their Idempotency-Key) while a service is
down or restarting, and a conversation's SSE stream that reconnects on its own and, once connected again, reads
the conversation's detail for what it missed — the widget's behaviour, so a kill costs answers no client sees."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from bench.raw_sse import StreamRefused, sse_events
from bench.soak_ledger import Conversation, Ledger

TRANSIENT = (httpx.TransportError, httpx.TimeoutException)
RETRY_S = 0.2
RECONNECT_S = 0.2


class Api:
    """JSON calls through httpx, each retried until ``retry_for_s`` passes while the answer may be temporary."""

    def __init__(self, client: httpx.AsyncClient, ledger: Ledger, retry_for_s: float = 120.0) -> None:
        self.client, self._ledger, self._retry_for_s = client, ledger, retry_for_s

    async def call(self, method: str, path: str, auth: dict[str, str], body: dict[str, Any] | None = None,
                   key: str | None = None, params: Mapping[str, str] | None = None) -> Any:
        headers = {**auth, **({"Idempotency-Key": key} if key else {})}
        deadline = time.monotonic() + self._retry_for_s
        while True:
            try:
                response = await self.client.request(method, path, headers=headers, json=body, params=params)
            except TRANSIENT:
                response = None
            if response is not None and response.status_code < 300:
                return response.json()
            temporary = response is None or response.status_code >= 500 or response.status_code in (409, 429)
            if not temporary or time.monotonic() > deadline:
                said = "no answer" if response is None else f"{response.status_code} {response.text[:300]}"
                raise RuntimeError(f"{method} {path}: {said}")
            self._ledger.retries += 1
            await asyncio.sleep(RETRY_S)


class LiveStream:
    """``GET /v1/conversations/{id}/stream`` over HTTP/1.1 chunked transfer, its reply and booking events into
    the ledger; reconnected whenever it ends, the detail read after each reconnection."""

    def __init__(self, api: Api, host: str, port: int, conversation: Conversation, ledger: Ledger) -> None:
        self._api, self._host, self._port = api, host, port
        self._conversation, self._ledger = conversation, ledger
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        first = True
        while True:
            # A refused or broken connection (the gateway killed or restarting) is tried again.
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError, ConnectionError, StreamRefused):
                await self._follow(catch_up=not first)
            first = False
            self.connected.clear()
            await asyncio.sleep(RECONNECT_S)

    async def _follow(self, catch_up: bool) -> None:
        path = f"/v1/conversations/{self._conversation.id}/stream"
        async for event in sse_events(self._host, self._port, path, self._conversation.tenant.auth):
            if event.startswith(b": connected"):
                self.connected.set()
                if catch_up:
                    await self._catch_up()
            else:
                self._dispatch(event)

    def _dispatch(self, event: bytes) -> None:
        fields = dict(line.split(": ", 1) for line in event.decode().splitlines() if ": " in line)
        name, data = fields.get("event"), fields.get("data")
        if data is None:
            return
        at = time.monotonic()
        if name == "reply.completed":
            reply = json.loads(data)
            self._ledger.replied(reply["in_reply_to"], at, cited=bool(reply.get("citations")),
                                 lead_id=(reply.get("lead") or {}).get("id"), live=True)
        elif name == "meeting.booked":
            self._ledger.booked(self._conversation.id, json.loads(data)["meeting_id"], at)

    async def _catch_up(self) -> None:
        """What happened while the stream was down, from the conversation's detail."""
        conversation = self._conversation
        detail = await self._api.call("GET", f"/v1/conversations/{conversation.id}", conversation.tenant.auth)
        read_at = time.monotonic()
        for message in detail["messages"]:
            if message["role"] == "assistant" and message.get("in_reply_to"):
                self._ledger.replied(message["in_reply_to"], read_at, cited=bool(message.get("citations")),
                                     lead_id=detail.get("lead_id"), live=False)
        meeting_id = ((detail.get("lead") or {}).get("fields") or {}).get("meeting_id")
        if meeting_id:
            self._ledger.booked(conversation.id, meeting_id, read_at)
