"""What stands in front of several gateways in production, for tests and benchmarks that kill one of them.

    async with balanced_client([primary.url, replica.url]) as api:
        await api.post("/v1/signup", json=...)   # any gateway; another one when this one is gone

Each request goes to the next gateway in turn. A request that cannot reach its gateway goes to the next one; a
request that is safe to send again — a GET, PUT, DELETE or HEAD, or a write carrying an Idempotency-Key — also
goes to the next one when its answer is lost on the way (the gateway died mid-request) or is a 502/503/504. The
client gives every POST and PATCH an Idempotency-Key of its own unless it has one, as client libraries of
payment APIs do, so a write sent again after a lost answer is the same write and not a second one. A keyed write
answered 409 with Retry-After (its first try still holds the key: the gateway that took it died mid-request and
the key's lease has not run out) is sent again after that wait, as the answer asks.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Sequence

import httpx

__all__ = ["LoadBalancer", "balanced_client"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
UNAVAILABLE = frozenset({502, 503, 504})
UNREACHED = (httpx.ConnectError, httpx.ConnectTimeout)
ANSWER_LOST = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadTimeout)
IDEMPOTENCY_KEY = "Idempotency-Key"


class LoadBalancer(httpx.AsyncBaseTransport):
    def __init__(self, upstreams: Sequence[str], *, give_up_after_s: float = 90.0, pause_s: float = 0.1) -> None:
        if not upstreams:
            raise ValueError("a load balancer needs at least one upstream")
        self._upstreams = [httpx.URL(upstream) for upstream in upstreams]
        self._turn = itertools.count()
        self._give_up_after_s = give_up_after_s
        self._pause_s = pause_s
        self._transport = httpx.AsyncHTTPTransport()
        self.failovers = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._give_up_after_s
        safe = request.method in SAFE_METHODS or IDEMPOTENCY_KEY in request.headers
        while True:
            upstream = self._upstreams[next(self._turn) % len(self._upstreams)]
            request.url = request.url.copy_with(scheme=upstream.scheme, host=upstream.host, port=upstream.port)
            try:
                response = await self._transport.handle_async_request(request)
            except UNREACHED:
                if loop.time() >= deadline:
                    raise
            except ANSWER_LOST:
                if not safe or loop.time() >= deadline:
                    raise
            else:
                in_progress = response.status_code == 409 and IDEMPOTENCY_KEY in request.headers
                wait_s = _retry_after_s(response) if in_progress else None
                if wait_s is not None and loop.time() + wait_s < deadline:
                    await response.aclose()
                    await asyncio.sleep(wait_s)
                    continue
                if response.status_code not in UNAVAILABLE or not safe or loop.time() >= deadline:
                    return response
                await response.aclose()
            self.failovers += 1
            await asyncio.sleep(self._pause_s)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _retry_after_s(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


async def _key_every_write(request: httpx.Request) -> None:
    if request.method in ("POST", "PATCH") and IDEMPOTENCY_KEY not in request.headers:
        request.headers[IDEMPOTENCY_KEY] = secrets.token_hex(16)


def balanced_client(upstreams: Sequence[str], *, timeout_s: float = 30.0,
                    give_up_after_s: float = 90.0) -> httpx.AsyncClient:
    """An HTTP client of the API behind ``upstreams`` (the gateways' base URLs)."""
    return httpx.AsyncClient(base_url=upstreams[0], timeout=timeout_s,
                             transport=LoadBalancer(upstreams, give_up_after_s=give_up_after_s),
                             event_hooks={"request": [_key_every_write]})
