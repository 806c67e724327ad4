"""Integrator webhooks as plain rules: which events a subscription may name and which it matches, the
retry schedule, and what one attempt's answer means.

Rules:
- A subscription names event types by their name (``lead.qualified``) or ``*``; a name must be a
  registered event of a stream integrators may subscribe to (``SUBSCRIBABLE_STREAMS``), except the webhook
  deliveries' own events (``webhook.*``): a subscription to them would feed itself, each delivery's
  ``webhook.delivered`` making one more delivery. ``*`` does not take them either.
- An event is delivered to every active subscription of its tenant that names it (or ``*``), once per
  (subscription, event id) however often the event arrives.
- Attempts follow ``RETRY_DELAYS_S`` (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h: about 18 hours,
  within a day), each delay with ±20 % jitter so a recovering endpoint is not hit by every retry at once.
  After the last the delivery is ``failed``.
- A 2xx answer delivers. 410 Gone disables the subscription at once. Anything else (another status, a
  timeout, a refused address) is a failed attempt; ``DISABLE_AFTER`` failed attempts in a row on one
  subscription, with no success between, disable it.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from afo_common.events import registered_events
from afo_common.events.streams import CONVERSATION, KNOWLEDGE, NOTIFICATION, WORKFLOW

SUBSCRIBABLE_STREAMS: tuple[str, ...] = (CONVERSATION, WORKFLOW, KNOWLEDGE, NOTIFICATION)
UNDELIVERED_CONTEXT = "webhook"
ALL_EVENTS = "*"
RETRY_DELAYS_S: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
JITTER = 0.2
DISABLE_AFTER = len(RETRY_DELAYS_S) + 1

SubscriptionStatus = Literal["active", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class InvalidSubscription(ValueError):
    """The subscription asked for cannot be made (an unknown event type, a URL that is not allowed)."""


def subscribable_events() -> set[str]:
    return {model.event_name for model in registered_events().values()
            if model.event_stream in SUBSCRIBABLE_STREAMS and not _undelivered(model.event_name)}


def _undelivered(event_name: str) -> bool:
    return event_name.split(".", 1)[0] == UNDELIVERED_CONTEXT


def checked_events(names: Iterable[str]) -> list[str]:
    """The names, deduplicated in order, or ``InvalidSubscription`` naming the first unknown one."""
    known = subscribable_events()
    result: list[str] = []
    for name in names:
        if name != ALL_EVENTS and name not in known:
            raise InvalidSubscription(f"unknown event type: {name[:64]!r}")
        if name not in result:
            result.append(name)
    return result


def event_name_of(event_type: str) -> str:
    """``afo.lead.qualified.v1`` → ``lead.qualified``."""
    parts = event_type.split(".")
    return f"{parts[1]}.{parts[2]}" if len(parts) == 4 else event_type


def matches(events: Sequence[str], event_type: str) -> bool:
    name = event_name_of(event_type)
    return not _undelivered(name) and (ALL_EVENTS in events or name in events)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


@dataclass(frozen=True)
class RetrySchedule:
    delays_s: tuple[float, ...] = RETRY_DELAYS_S
    jitter: float = JITTER
    disable_after: int = DISABLE_AFTER
    random: Callable[[], float] = field(default=random.random, compare=False)

    @property
    def max_attempts(self) -> int:
        return len(self.delays_s) + 1

    def next_attempt(self, attempt: int, now: datetime) -> datetime | None:
        """When to try again after attempt number ``attempt`` failed; None when it was the last."""
        if attempt > len(self.delays_s):
            return None
        delay = self.delays_s[attempt - 1]
        return now + timedelta(seconds=delay * (1 + self.jitter * (2 * self.random() - 1)))


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    status_code: int | None
    response_ms: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


@dataclass
class SubscriptionRow:
    id: str
    tenant_id: str
    url: str
    events: list[str]
    secret: str
    status: SubscriptionStatus
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


@dataclass
class DeliveryRow:
    id: str
    tenant_id: str
    subscription_id: str
    event_id: str
    event_type: str
    body: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class AttemptRow:
    delivery_id: str
    tenant_id: str
    attempt: int
    at: datetime
    status_code: int | None
    response_ms: int | None
    error: str | None
