"""One conversation's server-sent events: its real-time notices relayed as they come (the notice's JSON
is the event's data, passed through unparsed), a comment every 15 s to keep proxies from closing the
connection, and a final event when the stream must end — its principal lost access (``event: revoked``)
or the gateway is draining (``event: reconnect`` with a ``retry:`` hint, so EventSource reconnects to
another replica at once). Whatever is queued when the reader wakes goes out in one write. A client that
disconnects is noticed by the streaming response, which cancels this generator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from afo_gateway.domain.access import Principal
from afo_gateway.entrypoints.http.dependencies import Gateway
from afo_gateway.handlers.live_streams import Ending, KeepAlive, OpenStream

RECONNECT_MS = 1000


async def conversation_stream(gw: Gateway, principal: Principal, conversation_id: str) -> AsyncIterator[bytes]:
    # Registered and listening before ": connected" goes out; both undone however the stream ends.
    with gw.streams.open(principal) as stream, \
            gw.messages.feed.listen(principal.tenant_id, conversation_id, stream.deliver):
        yield b": connected\n\n"
        async for chunk in _relay(stream):
            yield chunk


async def _relay(stream: OpenStream) -> AsyncIterator[bytes]:
    sequence = 0
    while True:
        items = [await stream.items.get()]
        while not stream.items.empty():
            items.append(stream.items.get_nowait())
        chunk = bytearray()
        for item in items:
            if isinstance(item, Ending):
                yield bytes(chunk) + _final(item)
                return
            if isinstance(item, KeepAlive):
                chunk += b": keep-alive\n\n"
                continue
            sequence += 1
            chunk += b"id: %d\nevent: %s\ndata: %s\n\n" % (sequence, item.kind.encode(), item.data)
        yield bytes(chunk)


def _final(ending: Ending) -> bytes:
    retry = f"retry: {RECONNECT_MS}\n" if ending.reconnect else ""
    return f"{retry}event: {ending.event}\ndata: {json.dumps({'reason': ending.reason})}\n\n".encode()
