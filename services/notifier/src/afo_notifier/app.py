"""Composition root of notifier: its store (outbox and inbox; webhook subscriptions, deliveries and their
attempts), the consumers that turn the events integrators may subscribe to into deliveries, the delivery
worker that sends them (signed, behind the SSRF guard, retried on a schedule kept in the rows), and the
subscription RPCs the gateway serves. Reminders (SMS, email) arrive with their own issue."""

from __future__ import annotations

import asyncio

from afo_common.clock import Clock, SystemClock
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_notifier.adapters.store import sql_store
from afo_notifier.adapters.tables import messaging
from afo_notifier.adapters.webhook_sender import WebhookSender
from afo_notifier.domain.webhooks import RetrySchedule
from afo_notifier.entrypoints.rpc import register_rpc, routes
from afo_notifier.entrypoints.subscribers import WEBHOOK_SOURCES
from afo_notifier.handlers.dispatch import Dispatcher
from afo_notifier.handlers.fanout import EventFanout
from afo_notifier.handlers.subscriptions import Subscriptions
from afo_notifier.settings import NotifierSettings

SERVICE = "notifier"


def _settings(settings: ServiceSettings | None) -> NotifierSettings:
    if settings is None:
        settings = NotifierSettings.for_service(SERVICE)
    if isinstance(settings, NotifierSettings):
        return settings
    return NotifierSettings.model_validate({**settings.model_dump(), "service": settings.service})


def build(settings: ServiceSettings | None = None, *, sender: WebhookSender | None = None,
          schedule: RetrySchedule | None = None, clock: Clock | None = None) -> Service:
    """``sender`` and ``schedule`` default to the settings' and the standard ones; tests pass their own."""
    config = _settings(settings)
    service = Service(config, messaging, "afo_notifier.migrations")
    store, clock = sql_store(service.unit_of_work), clock or SystemClock()
    sender = sender or WebhookSender(timeout_s=config.webhook_timeout_s,
                                     allow_private=config.webhook_allow_private)
    dispatcher = Dispatcher(store, sender, clock, schedule, per_subscription=config.webhook_per_subscription,
                            total=config.webhook_total)
    fanout = EventFanout(store, clock, dispatcher.wake)
    for spec in WEBHOOK_SOURCES:
        service.consume(spec, fanout)
    register_rpc(service, routes(Subscriptions(store, clock, sender.judge, dispatcher.wake)))

    worker: list[asyncio.Task[None]] = []

    async def start() -> None:
        worker.append(asyncio.create_task(dispatcher.run(), name="notifier-webhook-deliveries"))

    async def stop() -> None:
        for task in worker:
            task.cancel()
        await asyncio.gather(*worker, return_exceptions=True)
        await dispatcher.stop()
        await sender.aclose()

    service.on_start(start)
    service.on_stop(stop)
    return service
