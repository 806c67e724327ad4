"""The delivery worker: sends due deliveries and records what each attempt came to.

Each round takes the due deliveries (oldest first, at most ``per_subscription`` of each subscription) of
subscriptions that are not already at their limit of deliveries in flight, leases them all in one statement
(so another replica leaves them alone; a crash lets them come due again when the lease ends) and sends each
in its own task. At most ``per_subscription`` deliveries of one subscription are in flight and at most
``total`` in all, so an endpoint that hangs holds only its own few slots until its timeout: every other
subscription's deliveries go on. The schedule lives in the rows (``next_attempt_at``), so retries survive
restarts.

Outcomes are recorded in batches (group commit): a finished send joins the batch being gathered while the
previous one commits, and each batch is one transaction — the attempts, the deliveries, the subscriptions'
failure counts and the events — so the store's cost per delivery is a share of one commit, not one commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from afo_common.clock import Clock
from afo_common.events.webhooks import (
    WebhookDelivered,
    WebhookFailed,
    WebhookSubscriptionChanged,
    WebhookSubscriptionDisabled,
)
from afo_notifier.domain.webhooks import AttemptRow, DeliveryRow, Outcome, RetrySchedule, SubscriptionRow
from afo_notifier.handlers.subscription_cache import Changes
from afo_notifier.handlers.webhook_store import WebhookStore, Work
from afo_notifier.metrics import SERVICE, WEBHOOK_ATTEMPTS, WEBHOOK_RESPONSE_SECONDS

log = logging.getLogger(__name__)


class Sender(Protocol):
    async def send(self, url: str, secret: str, message_id: str, body: str, now: datetime) -> Outcome: ...


class Dispatcher:
    def __init__(self, store: WebhookStore, sender: Sender, clock: Clock, schedule: RetrySchedule | None = None,
                 *, per_subscription: int = 4, total: int = 256, batch: int = 1000, lease_s: float = 120.0,
                 poll_s: float = 1.0, changes: Changes | None = None) -> None:
        """``changes``: told when a subscription is disabled (its tenant's cached subscriptions dropped)."""
        self._store, self._sender, self._clock = store, sender, clock
        self._schedule = schedule or RetrySchedule()
        self._per_subscription, self._batch, self._lease, self._poll_s = per_subscription, batch, lease_s, poll_s
        self._changes = changes
        self._total_limit = total
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._outcomes: list[tuple[_Sent, asyncio.Future[None]]] = []

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
        free = self._total_limit - sum(self._in_flight.values())
        if free <= 0:
            return 0
        now = self._clock.now()
        busy = frozenset(s for s, n in self._in_flight.items() if n >= self._per_subscription)
        until = now + timedelta(seconds=self._lease)
        async with self._store.reading() as repos:  # read outside the write transaction: the lease decides
            found = await repos.webhooks.due(now, min(self._batch, free + len(busy) * self._per_subscription),
                                             busy, per_subscription=self._per_subscription)
        chosen: list[tuple[DeliveryRow, SubscriptionRow]] = []
        room = dict.fromkeys({s.id for _, s in found}, 0)
        for delivery, subscription in found:
            if len(chosen) < free and \
                    self._in_flight[subscription.id] + room[subscription.id] < self._per_subscription:
                room[subscription.id] += 1
                chosen.append((delivery, subscription))
        if not chosen:
            return 0
        async with self._store() as uow:
            leased = await uow.webhooks.lease([d.id for d, _ in chosen], now, until)
        started = 0
        for delivery, subscription in chosen:
            if delivery.id not in leased:  # another replica took it first
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
            outcome = await self._sender.send(subscription.url, subscription.secret, delivery.event_id,
                                              delivery.body, self._clock.now())
            _count(outcome)
            await self._recorded(_Sent(delivery, subscription.id, outcome, self._clock.now()))
        except Exception:
            # The lease ends and the delivery comes due again.
            log.exception("could not record webhook delivery %s", delivery.id)
        finally:
            self._in_flight[subscription.id] -= 1
            if self._in_flight[subscription.id] <= 0:
                del self._in_flight[subscription.id]
            self._wakeup.set()

    async def _recorded(self, sent: _Sent) -> None:
        """Returns once ``sent`` is committed: in the batch this call writes, or in another's."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outcomes.append((sent, done))
        async with self._flushing:
            if self._outcomes:
                batch, self._outcomes = self._outcomes, []
                try:
                    await self._record([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        future.set_exception(exc)
                else:
                    for _, future in batch:
                        future.set_result(None)
        await done

    async def _record(self, batch: list[_Sent]) -> None:
        disabled: set[str] = set()
        async with self._store() as uow:
            tenants = {(s.delivery.tenant_id, s.subscription_id) for s in batch}
            subscriptions = await uow.webhooks.subscriptions_by_id(tenants)
            changed: dict[str, SubscriptionRow] = {}
            deliveries: list[DeliveryRow] = []
            attempts: list[AttemptRow] = []
            for sent in batch:
                subscription = subscriptions.get(sent.subscription_id)
                if subscription is None:
                    continue  # deleted while it was being sent, with its deliveries
                if await self._apply(uow, sent, subscription, attempts):
                    disabled.add(subscription.tenant_id)
                deliveries.append(sent.delivery)
                changed[subscription.id] = subscription
            await uow.webhooks.add_attempts(attempts)
            await uow.webhooks.save_deliveries(deliveries)
            await uow.webhooks.save_subscriptions(list(changed.values()))
        for tenant in disabled:
            if self._changes is not None:
                self._changes.changed(tenant)

    async def _apply(self, uow: Work, sent: _Sent, subscription: SubscriptionRow, attempts: list[AttemptRow]
                     ) -> bool:
        """One outcome applied to its delivery and subscription (in memory) with its events; True when it
        disabled the subscription."""
        delivery, outcome, now, tenant = sent.delivery, sent.outcome, sent.at, sent.delivery.tenant_id
        delivery.attempts += 1
        attempts.append(AttemptRow(delivery.id, tenant, delivery.attempts, now, outcome.status_code,
                                   outcome.response_ms, outcome.error))
        delivery.last_status_code, delivery.last_error, delivery.updated_at = outcome.status_code, outcome.error, now
        subscription.updated_at = now
        ids = dict(subscription_id=subscription.id, delivery_id=delivery.id, event_id=delivery.event_id,
                   event_type=delivery.event_type, attempt=delivery.attempts)
        if outcome.delivered:
            delivery.status, delivery.next_attempt_at = "delivered", None
            subscription.consecutive_failures = 0
            await uow.emit(WebhookDelivered(**ids, status_code=outcome.status_code or 0), tenant_id=tenant)
            return False
        next_at = None if outcome.gone else self._schedule.next_attempt(delivery.attempts, now)
        delivery.status, delivery.next_attempt_at = ("pending" if next_at else "failed"), next_at
        subscription.consecutive_failures += 1
        await uow.emit(WebhookFailed(**ids, status_code=outcome.status_code, error=outcome.error or "failed",
                                     next_attempt_at=next_at, final=next_at is None), tenant_id=tenant)
        if subscription.status != "active" or not (
                outcome.gone or subscription.consecutive_failures >= self._schedule.disable_after):
            return False
        subscription.status = "disabled"
        subscription.disabled_reason = "gone" if outcome.gone else "failing"
        await uow.emit(WebhookSubscriptionDisabled(
            subscription_id=subscription.id, reason=subscription.disabled_reason,
            consecutive_failures=subscription.consecutive_failures), tenant_id=tenant)
        await uow.emit(WebhookSubscriptionChanged(subscription_id=subscription.id, change="disabled"),
                       tenant_id=tenant)
        return True


def _count(outcome: Outcome) -> None:
    """Counted when the endpoint answered, before the batch commits: the attempt happened either way."""
    kind = "delivered" if outcome.delivered else "gone" if outcome.gone else "failed"
    WEBHOOK_ATTEMPTS.labels(SERVICE, kind).inc()
    if outcome.response_ms is not None:
        WEBHOOK_RESPONSE_SECONDS.labels(SERVICE).observe(outcome.response_ms / 1000.0)


@dataclass(frozen=True)
class _Sent:
    """One attempt's outcome, waiting to be recorded."""

    delivery: DeliveryRow
    subscription_id: str
    outcome: Outcome
    at: datetime
