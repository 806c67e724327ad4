"""notifier's settings: the common ones plus when reminders go out, how often the scheduler looks for due
ones, the platform's SMTP relay (``afo up`` starts a local one and passes its port; a real one may ask for a
login and TLS), and the webhook delivery's limits."""

from __future__ import annotations

from typing import Self

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator

from afo_common.settings import ServiceSettings
from afo_notifier.domain.channels import SmtpSecurity


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
    # AFO_SMTP_RELAY_USERNAME / _PASSWORD: the relay's login (SES, Postmark, Mailgun, Office 365...), both or
    # neither; never over a connection in clear.
    smtp_relay_username: str | None = None
    smtp_relay_password: SecretStr | None = None
    # AFO_SMTP_RELAY_TLS: "none" (the local relay), "starttls" (port 587) or "tls" (implicit TLS, port 465).
    smtp_relay_tls: SmtpSecurity = "none"
    # AFO_SMTP_RELAY_CA_FILE: PEM certificates trusted besides the system's, for a relay whose certificate a
    # private authority signed; the relay's certificate is always verified, its name included.
    smtp_relay_ca_file: FilePath | None = None
    smtp_relay_timeout_s: float = Field(default=10.0, gt=0)  # AFO_SMTP_RELAY_TIMEOUT_S: connect and each reply
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

    @field_validator("smtp_relay_tls", mode="before")
    @classmethod
    def _tls_in_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _relay_is_consistent(self) -> Self:
        """Refuses at start what would fail every send, or send the password in clear."""
        if (self.smtp_relay_username is None) != (self.smtp_relay_password is None):
            given, missing = ("USERNAME", "PASSWORD") if self.smtp_relay_username is not None else (
                "PASSWORD", "USERNAME")
            raise ValueError(f"AFO_SMTP_RELAY_{given} is set without AFO_SMTP_RELAY_{missing}: the relay's login "
                             "needs both")
        if self.smtp_relay_tls == "none" and self.smtp_relay_username is not None:
            raise ValueError("AFO_SMTP_RELAY_USERNAME and _PASSWORD with AFO_SMTP_RELAY_TLS=none would send the "
                             "password in clear: set AFO_SMTP_RELAY_TLS=starttls (port 587) or tls (port 465)")
        if self.smtp_relay_tls == "none" and self.smtp_relay_ca_file is not None:
            raise ValueError("AFO_SMTP_RELAY_CA_FILE needs AFO_SMTP_RELAY_TLS=starttls or tls")
        return self
