"""An httpx transport that notes every request an adapter sends and what came back: how a CRM sync counts the
attempts of each of its steps and keeps the last HTTP status, without reaching into the adapter.

One recorder may serve several clients of one adapter (Salesforce's login and API clients): closing a client
does not close it; its owner calls ``close`` once the adapter is closed."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class SeenCall:
    method: str
    path: str
    status: int | None  # None: no answer (connection refused, timeout)


class CallRecorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner
        self.calls: list[SeenCall] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:  # made at the first request: an adapter never used opens nothing
            self._inner = httpx.AsyncHTTPTransport()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception:
            self.calls.append(SeenCall(request.method, request.url.path, None))
            raise
        self.calls.append(SeenCall(request.method, request.url.path, response.status_code))
        return response

    async def aclose(self) -> None:
        """Left open for the adapter's other clients: see ``close``."""

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
