"""The notifier database: the contacts it knows of leads, the meetings it reminds them of and the notifications
it sends them; integrator webhook subscriptions, their deliveries (one per subscription and event) and each
delivery's attempts; beside the outbox and inbox."""

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from afo_common.db import UtcDateTime, new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)

contacts = Table(
    "contacts",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("lead_id", String(40), primary_key=True),
    Column("name", String(120), nullable=True),
    Column("email", String(254), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("opted_out", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The lead event whose snapshot is held: an older one arriving later changes nothing.
    Column("fields_at", UtcDateTime(), nullable=True),
)

# Meetings cancelled (by the lead, the tenant, or a reschedule): a request for their reminders that arrives
# after the cancellation (consumers of different events keep no order between them) schedules nothing.
cancelled_meetings = Table(
    "cancelled_meetings",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("meeting_id", String(40), primary_key=True),
    Column("cancelled_at", UtcDateTime(), nullable=False),
)

# Meetings whose reminders a workflow asked for: a contact channel learnt after the request (two consumers, in
# no set order) is planned from here.
reminded_meetings = Table(
    "reminded_meetings",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("meeting_id", String(40), primary_key=True),
    Column("lead_id", String(40), nullable=False),
    Column("agent_id", String(40), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("offsets_s", JSON, nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Index("ix_reminded_meetings_tenant_id_lead_id_start", "tenant_id", "lead_id", "start"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("meeting_id", String(40), nullable=True),
    Column("lead_id", String(40), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("to", String(254), nullable=False),
    Column("subject", String(300), nullable=True),
    Column("body", Text, nullable=False),
    Column("ics", Text, nullable=True),
    Column("send_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", String(500), nullable=True),
    Column("provider", String(16), nullable=True),
    Column("provider_id", String(120), nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The number an SMS goes from (an agent's, for its replies); None: the tenant's Twilio from_number.
    Column("sender", String(32), nullable=True),
    # The provider's last delivery report (Twilio's status callback), found by provider_id.
    Column("delivery_status", String(32), nullable=True),
    Column("delivery_error_code", String(16), nullable=True),
    Column("delivery_updated_at", UtcDateTime(), nullable=True),
    # The scheduler's due index: what is (still) waiting, by time.
    Index("ix_notifications_status_send_at", "status", "send_at"),
    Index("ix_notifications_tenant_id_id", "tenant_id", "id"),
    Index("ix_notifications_tenant_id_meeting_id", "tenant_id", "meeting_id"),
    Index("ix_notifications_tenant_id_lead_id", "tenant_id", "lead_id"),
    Index("ix_notifications_tenant_id_provider_id", "tenant_id", "provider_id"),
)

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
