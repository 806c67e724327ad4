"""Sends one signed webhook, behind the SSRF guard: the endpoint's name is resolved here (``Resolver``, a
port: tests answer with their own addresses), every address vetted (``afo_common.ssrf``), and the request
sent to the vetted address with the name in the Host header and TLS's SNI, so a second lookup cannot answer
differently. Redirects are never followed by httpx: up to three are followed here, each target vetted the
same way, the same signed body posted again. The whole attempt (lookups, redirects) has one deadline.

Signatures follow Standard Webhooks (``standardwebhooks``): ``webhook-id`` (the event id, so a receiver can
deduplicate), ``webhook-timestamp`` and ``webhook-signature``. The secret is never logged; an error names
what failed, never the endpoint's answer."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from datetime import datetime
from urllib.parse import urljoin

import httpx
from standardwebhooks import Webhook

from afo_common.ssrf import IpAddress, Judge, Resolver, refusal, resolve
from afo_common.telemetry import answered, provider_span
from afo_notifier.domain.endpoints import Endpoint, EndpointNotAllowed, endpoint
from afo_notifier.domain.webhooks import Outcome

MAX_REDIRECTS = 3
MAX_DRAINED = 64 * 1024
POOL_SIZE = 16  # connections to one endpoint (name and port) at once
_REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "AFO-webhooks/0.1 (+https://afo.dev)"


class Refused(Exception):
    pass


class WebhookSender:
    def __init__(self, *, timeout_s: float = 10.0, allow_private: bool = False, resolver: Resolver = resolve,
                 judge: Judge = refusal) -> None:
        """``allow_private`` sends to any address (AFO_WEBHOOK_ALLOW_PRIVATE, development and tests)."""
        self._timeout_s = timeout_s
        self._judge: Judge | None = None if allow_private else judge
        self._resolve = resolver
        # One client (one pool) per endpoint name and port: a pooled TLS connection opened with one name's SNI is
        # never reused for another name that happens to share its address.
        self._clients: dict[tuple[str, int], _Pool] = {}

    @property
    def judge(self) -> Judge | None:
        return self._judge

    async def send(self, url: str, secret: str, message_id: str, body: str, now: datetime) -> Outcome:
        started = time.perf_counter()
        signature = Webhook(secret).sign(message_id, now, body)
        headers = {"content-type": "application/json", "webhook-id": message_id,
                   "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
        status: int | None = None
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                target = endpoint(url, self._judge)
                for _ in range(MAX_REDIRECTS + 1):
                    status, location = await self._post(target, await self._vetted(target), headers, body, deadline)
                    if location is None:
                        return Outcome(status, _ms(started), None if 200 <= status < 300 else f"answered {status}")
                    target = endpoint(urljoin(target.url, location), self._judge)
                return Outcome(status, _ms(started), f"more than {MAX_REDIRECTS} redirects")
        except TimeoutError:
            return Outcome(None, _ms(started), f"no answer within {self._timeout_s:g} s")
        except (Refused, EndpointNotAllowed) as exc:
            return Outcome(None, _ms(started), f"refused: {exc}"[:300])
        except httpx.HTTPError as exc:
            return Outcome(None, _ms(started), f"{type(exc).__name__}"[:300])

    async def _vetted(self, target: Endpoint) -> IpAddress:
        try:
            # An address needs no lookup (the resolver's getaddrinfo runs in a worker thread: measured, a
            # large share of a delivery's cost); a name is resolved on every attempt.
            addresses = [literal] if (literal := _ip_literal(target.host)) else await self._resolve(
                target.host, target.port)
        except (socket.gaierror, UnicodeError) as exc:
            raise Refused(f"{target.host} could not be resolved") from exc
        if not addresses:
            raise Refused(f"{target.host} has no address")
        if self._judge is not None:
            for address in addresses:
                if (reason := self._judge(address)) is not None:
                    raise Refused(f"{target.host} resolves to {reason}")
        return addresses[0]

    async def _post(self, target: Endpoint, address: IpAddress, headers: dict[str, str], body: str,
                    deadline: float) -> tuple[int, str | None]:
        """The answer's status, and where it redirects (None when it does not)."""
        key = (target.host, target.port)
        pool = self._clients.get(key)
        if pool is None:
            pool = self._clients[key] = _Pool(httpx.AsyncClient(
                timeout=self._timeout_s, follow_redirects=False, trust_env=False,
                headers={"User-Agent": USER_AGENT},
                limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)))
        host = f"[{target.host}]" if ":" in target.host else target.host
        default_port = 443 if target.scheme == "https" else 80
        host_header = host if target.port == default_port else f"{host}:{target.port}"
        request_url = httpx.URL(target.url).copy_with(host=str(address))
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        # The span starts once a connection slot is ours (waiting for one is this sender's queue, not the
        # endpoint's time) and records the endpoint's name, never its path or query: they can hold its token.
        async with pool.slots:
            with provider_span("webhook", "POST", target.url, deadline) as span:
                async with pool.client.stream("POST", request_url, content=body.encode(),
                                              headers={**headers, "Host": host_header},
                                              extensions=extensions) as response:
                    answered(span, response.status_code)
                    await _drain(response)
                    if response.status_code in _REDIRECTS:
                        return response.status_code, response.headers.get("location") or None
                    return response.status_code, None

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for pool in clients.values():
            await pool.client.aclose()


class _Pool:
    """One endpoint name's client, and as many slots as it has connections: requests beyond them wait here,
    not in httpcore's pool (whose queue is scanned on every request: measured, with 256 requests waiting on
    32 connections, most of the sender's time)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.slots = asyncio.Semaphore(POOL_SIZE)


async def _drain(response: httpx.Response) -> None:
    """Reads a short answer's body (never kept), so its connection goes back to the pool: one left unread
    is closed (measured: a new connection per delivery, a third of the rate). A longer one is left."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > MAX_DRAINED:
            return


def _ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

