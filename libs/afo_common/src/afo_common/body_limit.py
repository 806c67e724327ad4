"""Request body limit answered as RFC 9457 problem+json (413) before any handler runs: by the declared
Content-Length, or for a chunked body by reading it (up to the limit) before the application does.

A route that takes uploads reads its body itself, within its own larger limit, while it arrives; it is
``exempt`` here (its method and path), since buffering it here would hold the whole upload in memory."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _never(scope: Scope) -> bool:
    return False


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, exempt: Callable[[Scope], bool] = _never) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read it here, within the limit, then hand it on.
        buffered: list[Message] = []
        received = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps({
            "type": "https://afo.dev/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"the request body is larger than {self.max_bytes} bytes",
            "instance": scope.get("path", ""),
        }).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
