"""A local webhook receiver (starlette on a free port): answers each request with the next planned status
(then 200), verifies every request's Standard Webhooks signature with the subscription's secret, and can hang
(never answer) or redirect."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from afo_common.ssrf import IpAddress, refusal

LOOPBACK = ipaddress.ip_address("127.0.0.1")


def public_loopback(address: IpAddress) -> str | None:
    """The production SSRF rules, except that 127.0.0.1 (where test receivers run) counts as public."""
    return None if address == LOOPBACK else refusal(address)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    @property
    def envelope(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    secret: str | None = None
    planned: list[int] = field(default_factory=list)
    redirect_to: str | None = None
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def wait_for(self, count: int) -> list[Received]:
        """Waits until ``count`` requests have arrived (the caller bounds the wait)."""
        while len(self.received) < count:
            self._arrived.clear()
            await self._arrived.wait()
        return self.received

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        valid = False
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                valid = True
            except WebhookVerificationError:
                valid = False
        self.received.append(Received(request.url.path, headers, body, valid))
        self._arrived.set()
        if self.hang:
            await self.release.wait()
        if self.redirect_to is not None:
            return Response(status_code=307, headers={"location": self.redirect_to})
        status = self.planned.pop(0) if self.planned else 200
        return Response(status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])
