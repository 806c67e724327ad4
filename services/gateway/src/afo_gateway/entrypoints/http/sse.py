"""One conversation's server-sent events: its real-time notices relayed as they come, a comment every
15 s to keep proxies from closing the connection, and a final event when the stream must end — its
principal lost access (``event: revoked``) or the gateway is draining (``event: reconnect`` with a
``retry:`` hint, so EventSource reconnects to another replica at once)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from afo_gateway.domain.access import Principal
from afo_gateway.entrypoints.http.dependencies import Gateway
from afo_gateway.handlers.live_streams import Ending, OpenStream

HEARTBEAT_S = 15.0
RECONNECT_MS = 1000
SSE_EVENTS = {"reply.delta", "reply.completed", "lead.updated", "handoff"}


async def conversation_stream(request: Request, gw: Gateway, principal: Principal,
                              conversation_id: str) -> AsyncIterator[bytes]:
    # Registered and subscribed before ": connected" goes out; both undone however the stream ends.
    with gw.streams.open(principal) as stream:
        async with gw.messages.feed.open(principal.tenant_id, conversation_id) as feed:
            async for chunk in _relay(request, feed, stream):
                yield chunk


async def _relay(request: Request, feed: asyncio.Queue[dict[str, Any]], stream: OpenStream) -> AsyncIterator[bytes]:
    ended = asyncio.ensure_future(stream.ended())
    notice = asyncio.ensure_future(feed.get())
    try:
        yield b": connected\n\n"
        sequence = 0
        while not await request.is_disconnected():
            done, _ = await asyncio.wait({notice, ended}, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED)
            if ended in done:
                yield _final(ended.result())
                return
            if notice not in done:
                yield b": keep-alive\n\n"
                continue
            data, notice = notice.result(), asyncio.ensure_future(feed.get())
            kind = str(data.get("type", ""))
            if kind in SSE_EVENTS:
                sequence += 1
                yield f"id: {sequence}\nevent: {kind}\ndata: {json.dumps(data)}\n\n".encode()
    finally:
        ended.cancel()
        notice.cancel()


def _final(ending: Ending) -> bytes:
    retry = f"retry: {RECONNECT_MS}\n" if ending.reconnect else ""
    return f"{retry}event: {ending.event}\ndata: {json.dumps({'reason': ending.reason})}\n\n".encode()
