"""The notifier database: integrator webhook subscriptions, their deliveries (one per subscription and
event) and each delivery's attempts, beside the outbox and inbox."""

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint

from afo_common.db import UtcDateTime, new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("events", JSON, nullable=False),
    # Kept to sign with; never answered again after create, never in an event or a log.
    Column("secret", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("disabled_reason", String(16), nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_webhook_subscriptions_tenant_id_id", "tenant_id", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("subscription_id", String(40), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("body", Text, nullable=False),  # the CloudEvents envelope, as sent
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # An event arriving twice is delivered once.
    UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_id_event_id"),
    Index("ix_webhook_deliveries_tenant_id_subscription_id_id", "tenant_id", "subscription_id", "id"),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(40), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response_ms", Integer, nullable=True),
    Column("error", String(300), nullable=True),
)
