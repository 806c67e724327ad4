"""Composition root of notifier: its store (outbox and inbox; the contacts it knows of leads and the
notifications it sends them; webhook subscriptions, deliveries and their attempts), the consumers that schedule
and cancel a meeting's reminders and confirmation, the scheduler that sends what is due (SMS through Twilio,
email through SMTP, or the local sinks without the tenant's credentials), the consumers that turn the events
integrators may subscribe to into webhook deliveries, the delivery worker that sends them (signed, behind the
SSRF guard, retried on a schedule kept in the rows), and the RPCs the gateway serves."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from afo_common.clock import Clock, SystemClock
from afo_common.ids import new_id
from afo_common.rpcs import notifier_delivery
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_notifier.adapters.agent_offsets import AgentReminderOffsets
from afo_notifier.adapters.channels import TenantChannels, VaultCredentials
from afo_notifier.adapters.smtp import SmtpServer
from afo_notifier.adapters.store import sql_store
from afo_notifier.adapters.tables import messaging
from afo_notifier.adapters.webhook_sender import WebhookSender
from afo_notifier.domain.channels import Channels
from afo_notifier.domain.webhooks import RetrySchedule
from afo_notifier.entrypoints import subscribers as s
from afo_notifier.entrypoints.rpc import notification_routes, register_rpc, webhook_routes
from afo_notifier.entrypoints.subscription_changes import SubscriptionChanges
from afo_notifier.handlers.delivery_reports import DeliveryReports
from afo_notifier.handlers.dispatch import Dispatcher
from afo_notifier.handlers.fanout import EventFanout, active_subscriptions
from afo_notifier.handlers.reminders import Reminders
from afo_notifier.handlers.replies import Replies
from afo_notifier.handlers.scheduler import Scheduler
from afo_notifier.handlers.subscription_cache import SubscriptionCache
from afo_notifier.handlers.subscriptions import Subscriptions
from afo_notifier.handlers.views import NotificationViews
from afo_notifier.handlers.workflow_steps import WorkflowNotifications, WorkflowWebhooks
from afo_notifier.settings import NotifierSettings

SERVICE = "notifier"


def build(settings: ServiceSettings | None = None, *, channels: Channels | None = None,
          sender: WebhookSender | None = None, schedule: RetrySchedule | None = None,
          clock: Clock | None = None) -> Service:
    """``channels`` default to the tenants' credentials in the vault with the local sinks, ``sender`` and
    ``schedule`` to the settings' and the standard ones; tests pass their own."""
    config = NotifierSettings.of(settings, SERVICE)
    service = Service(config, messaging, "afo_notifier.migrations")
    store, clock = sql_store(service.unit_of_work), clock or SystemClock()

    # Reminders and confirmations.
    if channels is None:
        channels = TenantChannels(VaultCredentials(service.rpc), relay=platform_relay(config),
                                  twilio_api=config.twilio_api_base_url, public_url=config.public_url)
    default_offsets = [timedelta(seconds=s_) for s_ in config.reminder_offsets_s]
    reminders = Reminders(store, clock, AgentReminderOffsets(service.rpc, default_offsets))
    service.consume(s.MEETING_BOOKED, reminders.booked)
    service.consume(s.REMINDERS_REQUESTED, reminders.requested)
    service.consume(s.MEETING_CANCELLED, reminders.cancelled)
    service.consume(s.LEAD_CREATED, reminders.lead)
    service.consume(s.LEAD_UPDATED, reminders.lead)
    service.consume(s.OPTED_OUT, reminders.opted_out)
    service.consume(s.MESSAGE_REPLIED, Replies(store, clock).replied)
    scheduler = Scheduler(store, channels, clock, new_id("sch"), batch=config.scheduler_batch,
                          concurrency=config.scheduler_concurrency, lease=timedelta(seconds=config.claim_lease_s))

    async def send_due() -> None:
        await scheduler.tick()

    service.every(config.scheduler_interval_s, send_due, "send-due-notifications")

    # Integrator webhooks. Each tenant's subscriptions are cached per process, kept true by a broadcast every
    # replica hears (``entrypoints/subscription_changes.py``).
    cache = SubscriptionCache(active_subscriptions(store), ttl_s=config.webhook_cache_ttl_s)
    changes = SubscriptionChanges(service.nats, cache)
    cache.set_epoch(changes.epoch)
    sender = sender or WebhookSender(timeout_s=config.webhook_timeout_s,
                                     allow_private=config.webhook_allow_private)
    dispatcher = Dispatcher(store, sender, clock, schedule, per_subscription=config.webhook_per_subscription,
                            total=config.webhook_total, changes=changes)
    fanout = EventFanout(store, clock, dispatcher.wake, cache)
    for spec in s.WEBHOOK_SOURCES:
        service.consume(spec, fanout)

    # The tenants' workflow steps: an SMS or email (sent by the scheduler), a webhook (by the delivery worker).
    service.consume(s.WORKFLOW_NOTIFICATION, WorkflowNotifications(store, clock))
    service.consume(s.WORKFLOW_WEBHOOK, WorkflowWebhooks(store, fanout))
    worker: list[asyncio.Task[None]] = []

    async def start_deliveries() -> None:
        await changes.start()
        worker.append(asyncio.create_task(dispatcher.run(), name="notifier-webhook-deliveries"))

    async def stop_deliveries() -> None:
        for task in worker:
            task.cancel()
        await asyncio.gather(*worker, return_exceptions=True)
        await dispatcher.stop()
        await sender.aclose()
        await changes.stop()

    service.on_start(start_deliveries)
    service.on_stop(stop_deliveries)

    register_rpc(service, notification_routes(NotificationViews(store)),
                 webhook_routes(Subscriptions(store, clock, sender.judge, dispatcher.wake, changes)),
                 [(notifier_delivery.RECORD_DELIVERY_STATUS, DeliveryReports(store, clock).record)])
    return service


def platform_relay(config: NotifierSettings) -> SmtpServer | None:
    """The relay for tenants without an SMTP integration of their own; None without ``AFO_SMTP_RELAY_PORT``."""
    if not config.smtp_relay_port:
        return None
    password = config.smtp_relay_password
    return SmtpServer(config.smtp_relay_host, config.smtp_relay_port, config.email_from,
                      username=config.smtp_relay_username,
                      password=password.get_secret_value() if password is not None else None,
                      security=config.smtp_relay_tls, timeout_s=config.smtp_relay_timeout_s,
                      ca_file=str(config.smtp_relay_ca_file) if config.smtp_relay_ca_file else None)
