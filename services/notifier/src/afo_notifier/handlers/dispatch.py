"""The delivery worker: sends due deliveries and records what each attempt came to.

Each round takes the due deliveries (oldest first) of subscriptions that are not already at their limit of
deliveries in flight, leases them (so another replica leaves them alone; a crash lets them come due again
when the lease ends) and sends each in its own task. At most ``per_subscription`` deliveries of one
subscription are in flight and at most ``total`` in all, so an endpoint that hangs holds only its own few
slots until its timeout: every other subscription's deliveries go on. The schedule lives in the rows
(``next_attempt_at``), so retries survive restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Protocol

from afo_common.clock import Clock
from afo_common.events.webhooks import WebhookDelivered, WebhookFailed, WebhookSubscriptionDisabled
from afo_notifier.domain.webhooks import AttemptRow, DeliveryRow, Outcome, RetrySchedule, SubscriptionRow
from afo_notifier.handlers.webhook_store import WebhookStore

log = logging.getLogger(__name__)


class Sender(Protocol):
    async def send(self, url: str, secret: str, message_id: str, body: str, now: datetime) -> Outcome: ...


class Dispatcher:
    def __init__(self, store: WebhookStore, sender: Sender, clock: Clock, schedule: RetrySchedule | None = None,
                 *, per_subscription: int = 4, total: int = 256, batch: int = 500, lease_s: float = 120.0,
                 poll_s: float = 1.0) -> None:
        self._store, self._sender, self._clock = store, sender, clock
        self._schedule = schedule or RetrySchedule()
        self._per_subscription, self._batch, self._lease, self._poll_s = per_subscription, batch, lease_s, poll_s
        self._total = asyncio.Semaphore(total)
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        """Rounds until cancelled: at once when woken (a new or replayed delivery, a slot freed), else
        every ``poll_s`` (retries coming due)."""
        while True:
            self._wakeup.clear()
            try:
                await self.dispatch_due()
            except Exception:
                log.exception("webhook delivery round failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._wakeup.wait()

    async def dispatch_due(self) -> int:
        """One round: leases what is due and starts sending it; returns how many were started."""
        now = self._clock.now()
        busy = frozenset(s for s, n in self._in_flight.items() if n >= self._per_subscription)
        until = now + timedelta(seconds=self._lease)
        started = 0
        async with self._store() as uow:
            for delivery, subscription in await uow.webhooks.due(now, self._batch, busy):
                if self._in_flight[subscription.id] >= self._per_subscription:
                    continue
                if not await uow.webhooks.lease(delivery, now, until):
                    continue
                self._in_flight[subscription.id] += 1
                started += 1
                task = asyncio.create_task(self._deliver(delivery, subscription), name=f"webhook-{delivery.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return started

    async def idle(self) -> None:
        """Waits for every delivery in flight to be recorded (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, delivery: DeliveryRow, subscription: SubscriptionRow) -> None:
        try:
            async with self._total:
                outcome = await self._sender.send(subscription.url, subscription.secret, delivery.event_id,
                                                  delivery.body, self._clock.now())
            await self._record(delivery, subscription.id, outcome)
        except Exception:
            # The lease ends and the delivery comes due again.
            log.exception("could not record webhook delivery %s", delivery.id)
        finally:
            self._in_flight[subscription.id] -= 1
            if self._in_flight[subscription.id] <= 0:
                del self._in_flight[subscription.id]
            self._wakeup.set()

    async def _record(self, delivery: DeliveryRow, subscription_id: str, outcome: Outcome) -> None:
        now, tenant = self._clock.now(), delivery.tenant_id
        async with self._store() as uow:
            subscription = await uow.webhooks.subscription(tenant, subscription_id)
            if subscription is None:
                return  # deleted while it was being sent, with its deliveries
            delivery.attempts += 1
            await uow.webhooks.add_attempt(AttemptRow(delivery.id, tenant, delivery.attempts, now,
                                                      outcome.status_code, outcome.response_ms, outcome.error))
            delivery.last_status_code, delivery.last_error, delivery.updated_at = (
                outcome.status_code, outcome.error, now)
            ids = dict(subscription_id=subscription.id, delivery_id=delivery.id, event_id=delivery.event_id,
                       event_type=delivery.event_type, attempt=delivery.attempts)
            if outcome.delivered:
                delivery.status, delivery.next_attempt_at = "delivered", None
                subscription.consecutive_failures = 0
                await uow.emit(WebhookDelivered(**ids, status_code=outcome.status_code or 0), tenant_id=tenant)
            else:
                next_at = None if outcome.gone else self._schedule.next_attempt(delivery.attempts, now)
                delivery.status, delivery.next_attempt_at = ("pending" if next_at else "failed"), next_at
                subscription.consecutive_failures += 1
                await uow.emit(WebhookFailed(**ids, status_code=outcome.status_code, error=outcome.error or "failed",
                                             next_attempt_at=next_at, final=next_at is None), tenant_id=tenant)
                if subscription.status == "active" and (
                        outcome.gone or subscription.consecutive_failures >= self._schedule.disable_after):
                    subscription.status = "disabled"
                    subscription.disabled_reason = "gone" if outcome.gone else "failing"
                    await uow.emit(WebhookSubscriptionDisabled(
                        subscription_id=subscription.id, reason=subscription.disabled_reason,
                        consecutive_failures=subscription.consecutive_failures), tenant_id=tenant)
            subscription.updated_at = now
            await uow.webhooks.save_delivery(delivery)
            await uow.webhooks.save_subscription(subscription)
