"""The subscription RPCs: create (the secret answered once), list, get, delete, enable (a disabled one active
again, its failure count reset), the delivery log and replay. Another tenant's ids are not found.

Every change of a subscription is ``webhook.subscription_changed``, written in its transaction, so every
replica's cache of the tenant's subscriptions is dropped (``subscription_cache.py``); create and enable answer
once the broadcast came back to this replica, so an event published after the answer finds the subscription
on any replica."""

from __future__ import annotations

from collections.abc import Callable

from afo_common.clock import Clock
from afo_common.events.webhooks import SubscriptionChange, WebhookSubscriptionChanged
from afo_common.ids import new_id
from afo_common.rpcs import notifier_webhooks as ops
from afo_common.rpcs.pages import Page
from afo_common.ssrf import Judge
from afo_notifier.domain.endpoints import endpoint
from afo_notifier.domain.webhooks import (
    AttemptRow,
    DeliveryRow,
    SubscriptionRow,
    checked_events,
    new_secret,
)
from afo_notifier.handlers.subscription_cache import Changes
from afo_notifier.handlers.webhook_store import Webhooks, WebhookStore, Work

Wake = Callable[[], None]


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def subscription_view(row: SubscriptionRow) -> ops.SubscriptionView:
    return ops.SubscriptionView(id=row.id, url=row.url, events=row.events, status=row.status,
                                disabled_reason=row.disabled_reason, created_at=row.created_at)


def delivery_view(row: DeliveryRow, log: list[AttemptRow]) -> ops.DeliveryView:
    return ops.DeliveryView(
        id=row.id, subscription_id=row.subscription_id, event_id=row.event_id, event_type=row.event_type,
        status=row.status, attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code, last_error=row.last_error, created_at=row.created_at,
        log=[ops.AttemptView(attempt=a.attempt, at=a.at, status_code=a.status_code, response_ms=a.response_ms,
                             error=a.error) for a in log])


class Subscriptions:
    def __init__(self, store: WebhookStore, clock: Clock, judge: Judge | None, wake: Wake,
                 changes: Changes) -> None:
        """``judge`` None: private targets allowed (AFO_WEBHOOK_ALLOW_PRIVATE); ``wake`` tells the delivery
        worker a delivery is due now; ``changes`` tells the replicas' caches."""
        self._store, self._clock, self._judge, self._wake = store, clock, judge, wake
        self._changes = changes

    async def create(self, request: ops.CreateSubscription) -> ops.CreatedSubscription:
        body = request.subscription
        target = endpoint(body.url, self._judge)
        now = self._clock.now()
        row = SubscriptionRow(new_id("whk"), request.tenant_id, target.url, checked_events(body.events),
                              new_secret(), "active", None, 0, now, now)
        async with self._store() as uow:
            await uow.webhooks.add_subscription(row)
            announced = await self._announce(uow, row.tenant_id, row.id, "created")
        await self._told(row.tenant_id, announced)
        return ops.CreatedSubscription(**subscription_view(row).model_dump(), secret=row.secret)

    async def list(self, request: ops.ListSubscriptions) -> Page[ops.SubscriptionView]:
        async with self._store.reading() as repos:
            rows = await repos.webhooks.subscriptions(request.tenant_id, request.limit + 1, request.cursor)
        more = len(rows) > request.limit
        rows = rows[: request.limit]
        return Page(data=[subscription_view(r) for r in rows], next_cursor=rows[-1].id if more else None)

    async def get(self, request: ops.SubscriptionRef) -> ops.SubscriptionView:
        async with self._store.reading() as repos:
            return subscription_view(await self._subscription(repos.webhooks, request))

    async def delete(self, request: ops.SubscriptionRef) -> ops.Deleted:
        async with self._store() as uow:
            if not await uow.webhooks.delete_subscription(request.tenant_id, request.subscription_id):
                raise NotFound(f"no webhook subscription {request.subscription_id}")
            await self._announce(uow, request.tenant_id, request.subscription_id, "deleted")
        # No wait for the broadcast: a replica that has not heard it yet writes no delivery for a subscription
        # that is gone (``add_delivery`` checks the store).
        self._changes.changed(request.tenant_id)
        return ops.Deleted(id=request.subscription_id)

    async def enable(self, request: ops.SubscriptionRef) -> ops.SubscriptionView:
        """A disabled subscription active again, its count of failures in a row reset (its deliveries still
        pending come due again; failed ones can be replayed). An active one is answered as it is."""
        async with self._store() as uow:
            row = await self._subscription(uow.webhooks, request)
            if row.status == "active":
                return subscription_view(row)
            row.status, row.disabled_reason, row.consecutive_failures = "active", None, 0
            row.updated_at = self._clock.now()
            await uow.webhooks.save_subscription(row)
            announced = await self._announce(uow, row.tenant_id, row.id, "enabled")
        await self._told(row.tenant_id, announced)
        self._wake()
        return subscription_view(row)

    async def deliveries(self, request: ops.ListDeliveries) -> Page[ops.DeliveryView]:
        async with self._store.reading() as repos:
            await self._subscription(repos.webhooks, request)
            rows = await repos.webhooks.deliveries(request.tenant_id, request.subscription_id, request.limit + 1,
                                                   request.cursor)
            more = len(rows) > request.limit
            rows = rows[: request.limit]
            logs = await repos.webhooks.attempts_of(request.tenant_id, [r.id for r in rows])
        return Page(data=[delivery_view(r, logs.get(r.id, [])) for r in rows],
                    next_cursor=rows[-1].id if more else None)

    async def replay(self, request: ops.DeliveryRef) -> ops.DeliveryView:
        now = self._clock.now()
        async with self._store() as uow:
            subscription = await self._subscription(uow.webhooks, request)
            row = await uow.webhooks.delivery(request.tenant_id, request.delivery_id)
            if row is None or row.subscription_id != subscription.id:
                raise NotFound(f"no delivery {request.delivery_id}")
            if subscription.status != "active":
                raise Conflict("the subscription is disabled; create a new one to receive events again")
            row.status, row.next_attempt_at, row.updated_at = "pending", now, now
            await uow.webhooks.save_delivery(row)
            log = (await uow.webhooks.attempts_of(request.tenant_id, [row.id])).get(row.id, [])
        self._wake()
        return delivery_view(row, log)

    @staticmethod
    async def _announce(uow: Work, tenant_id: str, subscription_id: str, change: SubscriptionChange) -> str:
        envelope = await uow.emit(WebhookSubscriptionChanged(subscription_id=subscription_id, change=change),
                                  tenant_id=tenant_id)
        return envelope.id

    async def _told(self, tenant_id: str, event_id: str) -> None:
        """This replica's entry dropped, and the broadcast heard back (every replica has it)."""
        self._changes.changed(tenant_id)
        await self._changes.heard(event_id)

    @staticmethod
    async def _subscription(webhooks: Webhooks, request: ops.SubscriptionRef | ops.ListDeliveries
                            ) -> SubscriptionRow:
        row = await webhooks.subscription(request.tenant_id, request.subscription_id)
        if row is None:
            raise NotFound(f"no webhook subscription {request.subscription_id}")
        return row

