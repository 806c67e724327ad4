"""Queries on webhook subscriptions, deliveries and attempts. Every method a tenant reaches is scoped to its
tenant; the delivery worker's ``due`` and ``claim`` span tenants (it serves them all) and nothing else does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from afo_notifier.adapters.tables import webhook_attempts, webhook_deliveries, webhook_subscriptions
from afo_notifier.domain.webhooks import AttemptRow, DeliveryRow, SubscriptionRow

subs, deliveries, attempts = webhook_subscriptions, webhook_deliveries, webhook_attempts


def _subscription(row: Any) -> SubscriptionRow:
    return SubscriptionRow(row.id, row.tenant_id, row.url, list(row.events), row.secret, row.status,
                           row.disabled_reason, row.consecutive_failures, row.created_at, row.updated_at)


def _delivery(row: Any) -> DeliveryRow:
    return DeliveryRow(row.id, row.tenant_id, row.subscription_id, row.event_id, row.event_type, row.body,
                       row.status, row.attempts, row.next_attempt_at, row.last_status_code, row.last_error,
                       row.created_at, row.updated_at)


def _attempt(row: Any) -> AttemptRow:
    return AttemptRow(row.delivery_id, row.tenant_id, row.attempt, row.at, row.status_code, row.response_ms,
                      row.error)


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- subscriptions ------------------------------------------------------------------------------------
    async def add_subscription(self, row: SubscriptionRow) -> None:
        await self._session.execute(insert(subs).values(
            id=row.id, tenant_id=row.tenant_id, url=row.url, events=row.events, secret=row.secret,
            status=row.status, disabled_reason=row.disabled_reason, consecutive_failures=row.consecutive_failures,
            created_at=row.created_at, updated_at=row.updated_at))

    async def subscription(self, tenant_id: str, subscription_id: str) -> SubscriptionRow | None:
        row = (await self._session.execute(
            select(subs).where(subs.c.tenant_id == tenant_id, subs.c.id == subscription_id))).first()
        return _subscription(row) if row else None

    async def subscriptions(self, tenant_id: str, limit: int, before: str | None) -> list[SubscriptionRow]:
        query = select(subs).where(subs.c.tenant_id == tenant_id)
        if before:
            query = query.where(subs.c.id < before)
        result = await self._session.execute(query.order_by(subs.c.id.desc()).limit(limit))
        return [_subscription(r) for r in result]

    async def active_subscriptions(self, tenant_id: str) -> list[SubscriptionRow]:
        result = await self._session.execute(
            select(subs).where(subs.c.tenant_id == tenant_id, subs.c.status == "active").order_by(subs.c.id))
        return [_subscription(r) for r in result]

    async def save_subscription(self, row: SubscriptionRow) -> None:
        await self._session.execute(update(subs).where(subs.c.tenant_id == row.tenant_id, subs.c.id == row.id).values(
            status=row.status, disabled_reason=row.disabled_reason,
            consecutive_failures=row.consecutive_failures, updated_at=row.updated_at))

    async def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool:
        """The subscription and its deliveries and their attempts removed; False when it was unknown."""
        ids = select(deliveries.c.id).where(deliveries.c.tenant_id == tenant_id,
                                            deliveries.c.subscription_id == subscription_id)
        await self._session.execute(delete(attempts).where(attempts.c.delivery_id.in_(ids)))
        await self._session.execute(delete(deliveries).where(deliveries.c.tenant_id == tenant_id,
                                                             deliveries.c.subscription_id == subscription_id))
        result = await self._session.execute(
            delete(subs).where(subs.c.tenant_id == tenant_id, subs.c.id == subscription_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- deliveries ---------------------------------------------------------------------------------------
    async def add_delivery(self, row: DeliveryRow) -> bool:
        """The delivery written; False when the subscription has one for this event already."""
        dialect = self._session.get_bind().dialect.name
        insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
        result = await self._session.execute(insert_(deliveries).values(
            id=row.id, tenant_id=row.tenant_id, subscription_id=row.subscription_id, event_id=row.event_id,
            event_type=row.event_type, body=row.body, status=row.status, attempts=row.attempts,
            next_attempt_at=row.next_attempt_at, last_status_code=row.last_status_code, last_error=row.last_error,
            created_at=row.created_at, updated_at=row.updated_at,
        ).on_conflict_do_nothing(index_elements=["subscription_id", "event_id"]))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delivery(self, tenant_id: str, delivery_id: str) -> DeliveryRow | None:
        row = (await self._session.execute(
            select(deliveries).where(deliveries.c.tenant_id == tenant_id, deliveries.c.id == delivery_id))).first()
        return _delivery(row) if row else None

    async def deliveries(self, tenant_id: str, subscription_id: str, limit: int,
                         before: str | None) -> list[DeliveryRow]:
        query = select(deliveries).where(deliveries.c.tenant_id == tenant_id,
                                         deliveries.c.subscription_id == subscription_id)
        if before:
            query = query.where(deliveries.c.id < before)
        result = await self._session.execute(query.order_by(deliveries.c.id.desc()).limit(limit))
        return [_delivery(r) for r in result]

    async def save_delivery(self, row: DeliveryRow) -> None:
        await self._session.execute(
            update(deliveries).where(deliveries.c.tenant_id == row.tenant_id, deliveries.c.id == row.id).values(
                status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                last_status_code=row.last_status_code, last_error=row.last_error, updated_at=row.updated_at))

    async def due(self, now: datetime, limit: int, skip: frozenset[str]) -> list[tuple[DeliveryRow, SubscriptionRow]]:
        """Pending deliveries whose time has come, of active subscriptions, oldest first (any tenant), with
        their subscription; ``skip``: subscriptions this process sends as many of as it may already."""
        query = (select(deliveries, *[c.label(f"s_{c.name}") for c in subs.c])
                 .join(subs, and_(subs.c.id == deliveries.c.subscription_id,
                                  subs.c.tenant_id == deliveries.c.tenant_id))
                 .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                        subs.c.status == "active")
                 .order_by(deliveries.c.next_attempt_at).limit(limit))
        if skip:
            query = query.where(deliveries.c.subscription_id.not_in(skip))
        found = []
        for row in await self._session.execute(query):
            sub = SubscriptionRow(row.s_id, row.s_tenant_id, row.s_url, list(row.s_events), row.s_secret,
                                  row.s_status, row.s_disabled_reason, row.s_consecutive_failures,
                                  row.s_created_at, row.s_updated_at)
            found.append((_delivery(row), sub))
        return found

    async def lease(self, delivery: DeliveryRow, now: datetime, until: datetime) -> bool:
        """Holds a due delivery until ``until`` (another replica will not send it meanwhile; a crash lets it
        come due again then); False when someone else took it first."""
        result = await self._session.execute(
            update(deliveries).where(deliveries.c.id == delivery.id, deliveries.c.status == "pending",
                                     or_(deliveries.c.next_attempt_at <= now,
                                         deliveries.c.next_attempt_at.is_(None)))
            .values(next_attempt_at=until))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- attempts -----------------------------------------------------------------------------------------
    async def add_attempt(self, row: AttemptRow) -> None:
        await self._session.execute(insert(attempts).values(
            delivery_id=row.delivery_id, tenant_id=row.tenant_id, attempt=row.attempt, at=row.at,
            status_code=row.status_code, response_ms=row.response_ms, error=row.error))

    async def attempts_of(self, tenant_id: str, delivery_ids: list[str]) -> dict[str, list[AttemptRow]]:
        result = await self._session.execute(
            select(attempts).where(attempts.c.tenant_id == tenant_id, attempts.c.delivery_id.in_(delivery_ids))
            .order_by(attempts.c.delivery_id, attempts.c.attempt))
        grouped: dict[str, list[AttemptRow]] = {}
        for r in result:
            grouped.setdefault(r.delivery_id, []).append(_attempt(r))
        return grouped
