"""Events integrators may subscribe to, turned into deliveries: for each active subscription of the event's
tenant that names it, one pending delivery (due now), written in the same transaction as the inbox row, so
an event arriving twice makes its deliveries once. An event no subscription wants is acknowledged with
nothing written — and, with the tenant's subscriptions cached (``subscription_cache.py``), nothing read.

A delivery is written only for a subscription that is still active in the store (``add_delivery``); when one
the cache named is not, the tenant's entry is dropped."""

from __future__ import annotations

from collections.abc import Callable

from afo_common.clock import Clock
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery
from afo_notifier.domain.webhooks import DeliveryRow
from afo_notifier.handlers.subscription_cache import Load, SubscriptionCache, Wanted
from afo_notifier.handlers.webhook_store import WebhookStore


def active_subscriptions(store: WebhookStore) -> Load:
    """The cache's loader: the tenant's active subscriptions, read from the store."""

    async def load(tenant_id: str) -> list[Wanted]:
        async with store.reading() as repos:
            return [Wanted(s.id, tuple(s.events)) for s in await repos.webhooks.active_subscriptions(tenant_id)]

    return load


class EventFanout:
    def __init__(self, store: WebhookStore, clock: Clock, wake: Callable[[], None],
                 cache: SubscriptionCache) -> None:
        self._store, self._clock, self._wake, self._cache = store, clock, wake, cache

    async def __call__(self, delivery: Delivery) -> None:
        envelope = delivery.envelope
        wanted = await self._cache.wanted(envelope.tenantid, envelope.type)
        if not wanted:
            return
        if await self.deliver(delivery, wanted) < len(wanted):  # one was deleted or disabled since the cache read it
            self._cache.changed(envelope.tenantid)

    async def deliver(self, delivery: Delivery, subscription_ids: list[str]) -> int:
        """The delivered event as one pending delivery per subscription still active, written with the inbox
        row; how many were written (the worker woken when any was)."""
        envelope = delivery.envelope
        now, body = self._clock.now(), envelope.to_bytes().decode()
        written = 0
        async with self._store.handling(delivery) as uow:
            for subscription_id in subscription_ids:
                written += await uow.webhooks.add_delivery(DeliveryRow(
                    new_id("whd"), envelope.tenantid, subscription_id, envelope.id, envelope.type, body,
                    "pending", 0, now, None, None, now, now))
        if written:
            self._wake()
        return written
