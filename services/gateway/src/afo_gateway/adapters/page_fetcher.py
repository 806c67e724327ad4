"""Fetches one web page (or file) for a knowledge base, once, behind the SSRF guard of
``domain/fetch_policy.py``: the host is resolved here, every address vetted, and the connection made to the
vetted address with the name in the Host header and TLS's SNI (so the certificate is still checked against
the name). Redirects are followed by hand, each target vetted the same way, at most three. The body is
counted while it arrives and the fetch stops at the upload limit; the whole fetch has one deadline."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urljoin

import httpx

from afo_common.ssrf import resolve
from afo_common.telemetry import answered, provider_span
from afo_gateway.domain.errors import DocumentTooLarge, UrlUnreachable
from afo_gateway.domain.fetch_policy import (
    MAX_REDIRECTS,
    FetchedPage,
    FetchTarget,
    IpAddress,
    Judge,
    fetch_target,
    refusal,
    vet,
)

Resolver = Callable[[str, int], Awaitable[list[IpAddress]]]
_REDIRECTS = {301, 302, 303, 307, 308}
_ACCEPT = "text/html, text/markdown;q=0.9, text/plain;q=0.9, application/pdf;q=0.9, */*;q=0.1"
USER_AGENT = "AFO-knowledge-fetch/0.1 (+https://afo.dev)"


class PageFetcher:
    def __init__(self, *, max_bytes: int, timeout_s: float, allow_private: bool,
                 resolver: Resolver = resolve, judge: Judge = refusal, tls: ssl.SSLContext | None = None) -> None:
        """``allow_private`` connects to any address (AFO_FETCH_ALLOW_PRIVATE, development and tests);
        ``resolver`` and ``judge`` let a test name its local server and count it as public, and ``tls``
        trust its certificate authority (the default: the public ones, certifi's)."""
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._judge: Judge | None = None if allow_private else judge
        self._resolve = resolver
        self._tls = tls

    async def fetch(self, url: str) -> FetchedPage:
        """The page's bytes, or ``UrlNotAllowed`` / ``UrlUnreachable`` / ``DocumentTooLarge``."""
        target = fetch_target(url)  # refuse a bad URL before anything else
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                return await self._follow(target, deadline)
        except TimeoutError as exc:
            raise UrlUnreachable(f"{target.host} did not answer within {self._timeout_s:g} s") from exc

    async def _follow(self, target: FetchTarget, deadline: float) -> FetchedPage:
        # A client per fetch: pooled connections are keyed by address, and one opened with another name's
        # SNI must not be reused; no proxies from the environment (they would connect by name again).
        async with httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False, trust_env=False,
                                     verify=self._tls or True,
                                     headers={"User-Agent": USER_AGENT, "Accept": _ACCEPT}) as client:
            for _ in range(MAX_REDIRECTS + 1):
                address = await self._vetted(target)
                page, location = await self._get(client, target, address, deadline)
                if page is not None:
                    return page
                target = fetch_target(urljoin(target.url, location))
        raise UrlUnreachable(f"more than {MAX_REDIRECTS} redirects")

    async def _vetted(self, target: FetchTarget) -> IpAddress:
        try:
            addresses = await self._resolve(target.host, target.port)
        except (socket.gaierror, UnicodeError) as exc:
            raise UrlUnreachable(f"{target.host} could not be resolved") from exc
        return vet(target.host, addresses, self._judge)

    async def _get(self, client: httpx.AsyncClient, target: FetchTarget, address: IpAddress,
                   deadline: float) -> tuple[FetchedPage | None, str]:
        """The page, or None and where a redirect points."""
        request_url = httpx.URL(target.url).copy_with(host=str(address))
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            with provider_span("web page", "GET", target.url, deadline) as span:
                async with client.stream("GET", request_url, headers={"Host": target.host_header},
                                         extensions=extensions) as response:
                    answered(span, response.status_code)
                    if response.status_code in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise UrlUnreachable(f"{target.host} redirected without a Location")
                        return None, location
                    if response.status_code >= 400:
                        raise UrlUnreachable(
                            f"{target.host} answered {response.status_code} {response.reason_phrase}")
                    data = await self._read(response)
                    return FetchedPage(target.url, response.headers.get("content-type"), data), ""
        except httpx.HTTPError as exc:
            raise UrlUnreachable(f"fetching from {target.host} failed: {type(exc).__name__} {exc}".strip()) from exc

    async def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise DocumentTooLarge(self._max_bytes)
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise DocumentTooLarge(self._max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)
