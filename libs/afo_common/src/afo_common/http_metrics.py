"""Request count and latency per route, as plain ASGI middleware (Starlette's BaseHTTPMiddleware costs
a task and a stream copy per request, which shows on the hot message path)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from afo_common.telemetry import HTTP_REQUESTS, HTTP_SECONDS


class HttpMetrics:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
            HTTP_SECONDS.labels(self.service, method, path).observe(time.perf_counter() - started)
