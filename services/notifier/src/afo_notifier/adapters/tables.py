"""The notifier database: the contacts it knows of leads and the notifications it sends them, beside the
outbox and inbox."""

from sqlalchemy import Boolean, Column, Index, String, Table, Text

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
    # The scheduler's due index: what is (still) waiting, by time.
    Index("ix_notifications_status_send_at", "status", "send_at"),
    Index("ix_notifications_tenant_id_id", "tenant_id", "id"),
    Index("ix_notifications_tenant_id_meeting_id", "tenant_id", "meeting_id"),
    Index("ix_notifications_tenant_id_lead_id", "tenant_id", "lead_id"),
)
