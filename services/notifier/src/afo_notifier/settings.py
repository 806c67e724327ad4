"""notifier's settings: the common ones plus when reminders go out, how often the scheduler looks for due
ones, the local SMTP relay (``afo up`` starts one and passes its port), and the webhook delivery's limits."""

from __future__ import annotations

from afo_common.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    # AFO_REMINDER_OFFSETS_S: seconds before a meeting's start a reminder goes out, one per entry (default
    # 24 h and 1 h), for agents that set no ``reminder_offsets_minutes`` of their own.
    reminder_offsets_s: list[int] = [86400, 3600]
    scheduler_interval_s: float = 0.2  # AFO_SCHEDULER_INTERVAL_S: how often the due index is polled
    scheduler_batch: int = 200  # AFO_SCHEDULER_BATCH: due rows claimed per poll at most
    scheduler_concurrency: int = 20  # AFO_SCHEDULER_CONCURRENCY: sends in flight at once
    claim_lease_s: float = 120.0  # AFO_CLAIM_LEASE_S: a claim not finished by then is taken again
    smtp_relay_host: str = "127.0.0.1"  # AFO_SMTP_RELAY_HOST
    smtp_relay_port: int | None = None  # AFO_SMTP_RELAY_PORT: None, no relay (email recorded in the sink)
    email_from: str = "meetings@afo.local"  # AFO_EMAIL_FROM: the relay's sender
    twilio_api_base_url: str = "https://api.twilio.com"  # AFO_TWILIO_API_BASE_URL
    # AFO_PUBLIC_URL: the gateway's address as Twilio reaches it; with it, each SMS sent through Twilio asks for
    # delivery reports at <AFO_PUBLIC_URL>/twilio/status?tenant=<tenant>. Unset: no reports asked for.
    public_url: str | None = None
    # AFO_WEBHOOK_ALLOW_PRIVATE: send webhooks to loopback and private addresses (development and tests).
    webhook_allow_private: bool = False
    webhook_timeout_s: float = 10.0  # AFO_WEBHOOK_TIMEOUT_S: one attempt, redirects included
    webhook_per_subscription: int = 4  # deliveries of one subscription in flight at once
    webhook_total: int = 256  # deliveries in flight at once in all
    # AFO_WEBHOOK_CACHE_TTL_S: how long a replica trusts its cached list of a tenant's subscriptions without
    # hearing of a change (the backstop: changes are broadcast to every replica).
    webhook_cache_ttl_s: float = 10.0
