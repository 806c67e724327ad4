"""Events integrators may subscribe to, turned into deliveries: for each active subscription of the event's
tenant that names it, one pending delivery (due now), written in the same transaction as the inbox row, so
an event arriving twice makes its deliveries once. An event no subscription wants is acknowledged with
nothing written."""

from __future__ import annotations

from collections.abc import Callable

from afo_common.clock import Clock
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery
from afo_notifier.domain.webhooks import DeliveryRow, matches
from afo_notifier.handlers.webhook_store import WebhookStore


class EventFanout:
    def __init__(self, store: WebhookStore, clock: Clock, wake: Callable[[], None]) -> None:
        self._store, self._clock, self._wake = store, clock, wake

    async def __call__(self, delivery: Delivery) -> None:
        envelope = delivery.envelope
        async with self._store.reading() as repos:
            wanted = [s for s in await repos.webhooks.active_subscriptions(envelope.tenantid)
                      if matches(s.events, envelope.type)]
        if not wanted:
            return
        now, body = self._clock.now(), envelope.to_bytes().decode()
        async with self._store.handling(delivery) as uow:
            for subscription in wanted:
                await uow.webhooks.add_delivery(DeliveryRow(
                    new_id("whd"), envelope.tenantid, subscription.id, envelope.id, envelope.type, body,
                    "pending", 0, now, None, None, now, now))
        self._wake()
