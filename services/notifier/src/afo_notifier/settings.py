"""notifier's settings: the common ones plus the webhook delivery's limits."""

from __future__ import annotations

from afo_common.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    # AFO_WEBHOOK_ALLOW_PRIVATE: send webhooks to loopback and private addresses (development and tests).
    webhook_allow_private: bool = False
    webhook_timeout_s: float = 10.0  # AFO_WEBHOOK_TIMEOUT_S: one attempt, redirects included
    webhook_per_subscription: int = 4  # deliveries of one subscription in flight at once
    webhook_total: int = 256  # deliveries in flight at once in all
