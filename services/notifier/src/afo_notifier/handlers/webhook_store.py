"""What the webhook handlers need of storage: the webhook repository (``adapters/webhook_repository.py``) as a
Protocol, in a unit of work (with ``emit``) or for reads — on the database only (the reminders' repositories,
``unit_of_work.py``, also have an in-memory double). Every tenant-facing method takes the tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from afo_common.messaging.store import Store
from afo_common.messaging.unit_of_work import Events
from afo_notifier.domain.webhooks import AttemptRow, DeliveryRow, SubscriptionRow


class Webhooks(Protocol):
    async def add_subscription(self, row: SubscriptionRow) -> None: ...

    async def subscription(self, tenant_id: str, subscription_id: str) -> SubscriptionRow | None: ...

    async def subscriptions(self, tenant_id: str, limit: int, before: str | None) -> list[SubscriptionRow]: ...

    async def active_subscriptions(self, tenant_id: str) -> list[SubscriptionRow]: ...

    async def save_subscription(self, row: SubscriptionRow) -> None: ...

    async def subscriptions_by_id(self, keys: set[tuple[str, str]]) -> dict[str, SubscriptionRow]: ...

    async def save_subscriptions(self, rows: list[SubscriptionRow]) -> None: ...

    async def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool: ...

    async def add_delivery(self, row: DeliveryRow) -> bool: ...

    async def delivery(self, tenant_id: str, delivery_id: str) -> DeliveryRow | None: ...

    async def deliveries(self, tenant_id: str, subscription_id: str, limit: int,
                         before: str | None) -> list[DeliveryRow]: ...

    async def save_delivery(self, row: DeliveryRow) -> None: ...

    async def save_deliveries(self, rows: list[DeliveryRow]) -> None: ...

    async def due(self, now: datetime, limit: int, skip: frozenset[str], *,
                  per_subscription: int | None = None) -> list[tuple[DeliveryRow, SubscriptionRow]]: ...

    async def lease(self, delivery_ids: list[str], now: datetime, until: datetime) -> set[str]: ...

    async def add_attempt(self, row: AttemptRow) -> None: ...

    async def add_attempts(self, rows: list[AttemptRow]) -> None: ...

    async def attempts_of(self, tenant_id: str, delivery_ids: list[str]) -> dict[str, list[AttemptRow]]: ...


class Reads(Protocol):
    @property
    def webhooks(self) -> Webhooks: ...


class Work(Reads, Events, Protocol):
    pass


WebhookStore = Store[Work, Reads]
