"""Queries on webhook subscriptions, deliveries and attempts. Every method a tenant reaches is scoped to its
tenant; the delivery worker's ``due`` and ``claim`` span tenants (it serves them all) and nothing else does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.db import insert_with_conflicts
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

    async def subscriptions_by_id(self, keys: set[tuple[str, str]]) -> dict[str, SubscriptionRow]:
        """The subscriptions named by (tenant, id), by id; the unknown ones left out."""
        if not keys:
            return {}
        result = await self._session.execute(select(subs).where(subs.c.id.in_([k[1] for k in keys])))
        return {r.id: _subscription(r) for r in result if (r.tenant_id, r.id) in keys}

    async def save_subscriptions(self, rows: list[SubscriptionRow]) -> None:
        """Many subscriptions' state in one statement (an executemany)."""
        if not rows:
            return
        await self._session.execute(
            update(subs).where(subs.c.tenant_id == bindparam("b_tenant_id"), subs.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), disabled_reason=bindparam("b_disabled_reason"),
                    consecutive_failures=bindparam("b_consecutive_failures"), updated_at=bindparam("b_updated_at")),
            [{"b_tenant_id": r.tenant_id, "b_id": r.id, "b_status": r.status, "b_disabled_reason": r.disabled_reason,
              "b_consecutive_failures": r.consecutive_failures, "b_updated_at": r.updated_at} for r in rows])

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
        """The delivery written, in one statement, if its subscription is (still) active; False when it is
        not, or when the subscription has one for this event already."""
        values = {"id": row.id, "tenant_id": row.tenant_id, "subscription_id": row.subscription_id,
                  "event_id": row.event_id, "event_type": row.event_type, "body": row.body, "status": row.status,
                  "attempts": row.attempts, "next_attempt_at": row.next_attempt_at,
                  "last_status_code": row.last_status_code, "last_error": row.last_error,
                  "created_at": row.created_at, "updated_at": row.updated_at}
        source = select(*[literal(v, type_=deliveries.c[k].type).label(k) for k, v in values.items()]).where(
            subs.c.tenant_id == row.tenant_id, subs.c.id == row.subscription_id, subs.c.status == "active")
        insert = insert_with_conflicts(self._session, deliveries)
        result = await self._session.execute(insert.from_select(list(values), source)
                                             .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"]))
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

    async def save_deliveries(self, rows: list[DeliveryRow]) -> None:
        """Many deliveries' outcomes in one statement (an executemany)."""
        if not rows:
            return
        await self._session.execute(
            update(deliveries).where(deliveries.c.tenant_id == bindparam("b_tenant_id"),
                                     deliveries.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                    next_attempt_at=bindparam("b_next_attempt_at"), last_status_code=bindparam("b_last_status_code"),
                    last_error=bindparam("b_last_error"), updated_at=bindparam("b_updated_at")),
            [{"b_tenant_id": r.tenant_id, "b_id": r.id, "b_status": r.status, "b_attempts": r.attempts,
              "b_next_attempt_at": r.next_attempt_at, "b_last_status_code": r.last_status_code,
              "b_last_error": r.last_error, "b_updated_at": r.updated_at} for r in rows])

    async def due(self, now: datetime, limit: int, skip: frozenset[str], *,
                  per_subscription: int | None = None) -> list[tuple[DeliveryRow, SubscriptionRow]]:
        """Pending deliveries whose time has come, of active subscriptions, oldest first (any tenant), with
        their subscription; ``skip``: subscriptions this process sends as many of as it may already;
        ``per_subscription``: at most that many of each subscription (the oldest), so one subscription's
        backlog does not fill the batch."""
        pending = (select(deliveries.c.id,
                          func.row_number().over(partition_by=deliveries.c.subscription_id,
                                                 order_by=(deliveries.c.next_attempt_at, deliveries.c.id))
                          .label("rank"))
                   .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now))
        if skip:
            pending = pending.where(deliveries.c.subscription_id.not_in(skip))
        query = (select(deliveries, *[c.label(f"s_{c.name}") for c in subs.c])
                 .join(subs, and_(subs.c.id == deliveries.c.subscription_id,
                                  subs.c.tenant_id == deliveries.c.tenant_id))
                 .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                        subs.c.status == "active")
                 .order_by(deliveries.c.next_attempt_at).limit(limit))
        if per_subscription is not None:
            ranked = pending.subquery()
            query = query.join(ranked, ranked.c.id == deliveries.c.id).where(ranked.c.rank <= per_subscription)
        elif skip:
            query = query.where(deliveries.c.subscription_id.not_in(skip))
        found = []
        for row in await self._session.execute(query):
            sub = SubscriptionRow(row.s_id, row.s_tenant_id, row.s_url, list(row.s_events), row.s_secret,
                                  row.s_status, row.s_disabled_reason, row.s_consecutive_failures,
                                  row.s_created_at, row.s_updated_at)
            found.append((_delivery(row), sub))
        return found

    async def lease(self, delivery_ids: list[str], now: datetime, until: datetime) -> set[str]:
        """Holds due deliveries until ``until`` in one statement (another replica will not send them
        meanwhile; a crash lets them come due again then); the ids this call took (not those someone else
        took first)."""
        if not delivery_ids:
            return set()
        result = await self._session.execute(
            update(deliveries).where(deliveries.c.id.in_(delivery_ids), deliveries.c.status == "pending",
                                     or_(deliveries.c.next_attempt_at <= now,
                                         deliveries.c.next_attempt_at.is_(None)))
            .values(next_attempt_at=until).returning(deliveries.c.id))
        return {row.id for row in result}

    # -- attempts -----------------------------------------------------------------------------------------
    async def add_attempt(self, row: AttemptRow) -> None:
        await self._session.execute(insert(attempts).values(
            delivery_id=row.delivery_id, tenant_id=row.tenant_id, attempt=row.attempt, at=row.at,
            status_code=row.status_code, response_ms=row.response_ms, error=row.error))

    async def add_attempts(self, rows: list[AttemptRow]) -> None:
        """Many attempts in one statement (an executemany)."""
        if rows:
            await self._session.execute(insert(attempts), [
                {"delivery_id": r.delivery_id, "tenant_id": r.tenant_id, "attempt": r.attempt, "at": r.at,
                 "status_code": r.status_code, "response_ms": r.response_ms, "error": r.error} for r in rows])

    async def attempts_of(self, tenant_id: str, delivery_ids: list[str]) -> dict[str, list[AttemptRow]]:
        result = await self._session.execute(
            select(attempts).where(attempts.c.tenant_id == tenant_id, attempts.c.delivery_id.in_(delivery_ids))
            .order_by(attempts.c.delivery_id, attempts.c.attempt))
        grouped: dict[str, list[AttemptRow]] = {}
        for r in result:
            grouped.setdefault(r.delivery_id, []).append(_attempt(r))
        return grouped
