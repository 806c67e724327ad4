"""The operators' view of the platform (``/v1/admin`` and the console's admin area): every tenant, each service's
health, each stream's throughput, each durable consumer's lag and every tenant's anomalies. Reading needs
``Permission.VIEW_PLATFORM``; none of it is scoped to the caller's tenant, which is why no tenant's role holds it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from afo_common.clock import Clock
from afo_common.events.anomaly import Signal
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import (
    LIST_PLATFORM_ANOMALIES,
    AnomalyStatus,
    ListPlatformAnomalies,
    PlatformAnomalyView,
)
from afo_gateway.adapters.accounts_repository import TenantSummary
from afo_gateway.domain.access import PLATFORM_TENANT_ID, Permission, Principal, require
from afo_gateway.domain.live_feed import ServiceHealth
from afo_gateway.domain.platform_state import ConsumerLag, StreamState
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.platform_health import PlatformHealth
from afo_gateway.handlers.unit_of_work import Store


class MessagingState(Protocol):
    async def streams(self) -> list[StreamState]: ...

    async def consumers(self) -> list[ConsumerLag]: ...


@dataclass(frozen=True)
class HealthReport:
    at: datetime
    services: list[ServiceHealth]
    streams: list[StreamState]

    @property
    def ready(self) -> bool:
        return all(service.ready for service in self.services)


class PlatformAdmin:
    def __init__(self, store: Store, messaging: MessagingState, health: PlatformHealth, owners: Owners,
                 clock: Clock) -> None:
        self._store = store
        self._messaging = messaging
        self._health = health
        self._owners = owners
        self._clock = clock

    async def tenants(self, principal: Principal, limit: int, cursor: str | None) -> list[TenantSummary]:
        """Newest first; the operations tenant is the platform's, not one of them."""
        require(principal, Permission.VIEW_PLATFORM)
        async with self._store.reading() as repos:
            return await repos.accounts.tenants(limit, cursor, excluding=PLATFORM_TENANT_ID)

    async def health(self, principal: Principal) -> HealthReport:
        require(principal, Permission.VIEW_PLATFORM)
        return HealthReport(self._clock.now(), await self._health.check(), await self._messaging.streams())

    async def consumers(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[ConsumerLag],
                                                                                           str | None]:
        """By stream and name; ``cursor`` is the ``stream/name`` of the last one of the previous page."""
        require(principal, Permission.VIEW_PLATFORM)
        lags = [lag for lag in await self._messaging.consumers() if cursor is None or lag.key > cursor]
        page = lags[:limit]
        return page, (page[-1].key if len(lags) > limit else None)

    async def anomalies(self, principal: Principal, limit: int, cursor: str | None,
                        status: AnomalyStatus | None = None,
                        signal: Signal | None = None) -> Page[PlatformAnomalyView]:
        require(principal, Permission.VIEW_PLATFORM)
        return await self._owners.call(LIST_PLATFORM_ANOMALIES, ListPlatformAnomalies(
            limit=limit, cursor=cursor, status=status, signal=signal))
