"""A tenant's outside calendar, found through the gateway's vault (`RESOLVE_CREDENTIAL["workflow-executor"]`).

`for_tenant` asks for the tenant's `google` record first, then its `calendly` record: Google when its record
can refresh a token (a record holding only the OAuth client, before the tenant finished connecting, does not
count), else Calendly when it has an access token, else None (the built-in calendar). `not_found` means not
connected; every other failure (no gateway answering, a timeout, `forbidden`, `internal`) raises
`ProviderError(retryable=True)`: the booking waits rather than books around a calendar it cannot see.

The answer is kept `ttl_s` seconds per tenant (60 by default). A tenant who connects, reconnects or removes a
calendar is seen by each process within that time: the integration.connected/removed events are not used, because
a durable JetStream consumer hands each event to one replica only, while every replica holds its own cache.
Adapters share one HTTP connection pool; `aclose` closes it when the service stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from cachetools import TTLCache

from afo_common.credentials import resolve_credential
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.provider_http import ProviderError, RetryPolicy
from afo_workflow_executor.adapters.providers.calendly import CALENDLY_API, CalendlyCalendar
from afo_workflow_executor.adapters.providers.google_calendar import (
    GOOGLE_API,
    GOOGLE_OAUTH,
    AccessTokenCache,
    GoogleCalendar,
    GoogleCredentials,
)
from afo_workflow_executor.domain.external_calendars import ExternalCalendar

SERVICE = "workflow-executor"
PURPOSE = "booking: the tenant's outside calendar"


@dataclass(frozen=True)
class CalendarEndpoints:
    """Where the providers are; tests point these at local stand-ins."""

    google_api: str = GOOGLE_API
    google_oauth: str = GOOGLE_OAUTH
    calendly_api: str = CALENDLY_API


class VaultExternalCalendars:
    def __init__(
        self,
        rpc: RpcClient,
        *,
        endpoints: CalendarEndpoints | None = None,
        policy: RetryPolicy | None = None,
        ttl_s: float = 60.0,
        max_tenants: int = 10_000,
        timeout_s: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._rpc = rpc
        self._endpoints = endpoints or CalendarEndpoints()
        self._policy = policy
        self._timeout_s = timeout_s
        self._clock = clock
        self._tokens = AccessTokenCache()
        self._transport = httpx.AsyncHTTPTransport()
        self._found: TTLCache[str, ExternalCalendar | None] = TTLCache(maxsize=max_tenants, ttl=ttl_s)

    async def aclose(self) -> None:
        await self._transport.aclose()

    def forget(self, tenant_id: str) -> None:
        """Drop what this process knows of the tenant's calendar and tokens: the next call asks the vault."""
        self._found.pop(tenant_id, None)
        self._tokens.drop_tenant(tenant_id)

    async def for_tenant(self, tenant_id: str) -> ExternalCalendar | None:
        if tenant_id in self._found:
            return self._found[tenant_id]
        calendar = await self._resolve(tenant_id)
        self._found[tenant_id] = calendar
        return calendar

    async def _resolve(self, tenant_id: str) -> ExternalCalendar | None:
        google = await self._fields(tenant_id, "google")
        if google is not None and google.get("refresh_token"):
            return GoogleCalendar(tenant_id, GoogleCredentials.from_fields(google), tokens=self._tokens,
                                  api_base=self._endpoints.google_api, oauth_base=self._endpoints.google_oauth,
                                  policy=self._policy, clock=self._clock, transport=self._transport)
        calendly = await self._fields(tenant_id, "calendly")
        if calendly is not None and calendly.get("access_token"):
            return CalendlyCalendar(calendly["access_token"], event_type_uri=calendly.get("event_type_uri"),
                                    base_url=self._endpoints.calendly_api, policy=self._policy, clock=self._clock,
                                    transport=self._transport)
        return None

    async def _fields(self, tenant_id: str, provider: str) -> dict[str, str] | None:
        try:
            return await resolve_credential(self._rpc, SERVICE, tenant_id, provider, PURPOSE, self._timeout_s)
        except RpcError as error:
            raise ProviderError(provider, None, f"the vault did not resolve the {provider} credentials "
                                f"({error.code})", retryable=True) from None
