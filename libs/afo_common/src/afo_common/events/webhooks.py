"""Events of integrator webhooks (notifier owns subscriptions and their deliveries).

Each attempt to deliver an event to a subscription ends in ``webhook.delivered`` (a 2xx answer) or
``webhook.failed`` (with the next attempt's time, or ``final`` when the schedule is spent). A subscription
whose endpoint keeps failing, or answers 410 Gone, is disabled: ``webhook.subscription_disabled``. Every change
of a subscription (created, deleted, disabled, re-enabled) is also ``webhook.subscription_changed``. None of
them carries the delivered body, the signing secret or the endpoint's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from afo_common.events.envelope import Event, event
from afo_common.events.streams import NOTIFICATION

DisabledReason = Literal["failing", "gone"]


@event("webhook.delivered", stream=NOTIFICATION)
class WebhookDelivered(Event):
    subscription_id: str
    delivery_id: str
    event_id: str
    event_type: str
    attempt: int
    status_code: int


@event("webhook.failed", stream=NOTIFICATION)
class WebhookFailed(Event):
    subscription_id: str
    delivery_id: str
    event_id: str
    event_type: str
    attempt: int
    status_code: int | None
    error: str
    next_attempt_at: datetime | None
    final: bool


@event("webhook.subscription_disabled", stream=NOTIFICATION)
class WebhookSubscriptionDisabled(Event):
    subscription_id: str
    reason: DisabledReason
    consecutive_failures: int


SubscriptionChange = Literal["created", "deleted", "disabled", "enabled"]


@event("webhook.subscription_changed", stream=NOTIFICATION)
class WebhookSubscriptionChanged(Event):
    """A subscription was created, deleted, disabled or re-enabled. Every notifier replica hears it on core
    NATS and forgets the tenant's cached subscriptions (``afo_notifier/handlers/subscription_cache.py``)."""

    subscription_id: str
    change: SubscriptionChange
