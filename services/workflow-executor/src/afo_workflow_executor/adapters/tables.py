"""The workflow-executor database: calendars, bookings and the cells bookings occupy, beside the outbox and
inbox."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, UniqueConstraint

from afo_common.db import UtcDateTime, new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)

calendars = Table(
    "calendars",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("owner_kind", String(8), nullable=False),
    Column("owner_id", String(40), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_calendars_tenant_id_id", "tenant_id", "id"),
    # One calendar per owner: two first requests for an agent racing to create its default make one.
    Index("uq_calendars_tenant_id_owner", "tenant_id", "owner_kind", "owner_id", unique=True),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("calendar_id", String(40), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    Column("held_from", UtcDateTime(), nullable=False),
    Column("held_until", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("lead_id", String(40), nullable=True),
    Column("conversation_id", String(40), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("agent_id", String(40), nullable=True),
    Column("time_zone", String(64), nullable=False, server_default="UTC"),
    Column("title", String(200), nullable=True),
    # "builtin", or the outside calendar that also holds the event ("google"), with its id and link there.
    Column("provider", String(16), nullable=False, server_default="builtin"),
    Column("external_id", String(255), nullable=True),
    Column("url", String(2048), nullable=True),
    Column("rescheduled_from", String(40), nullable=True),
    Column("cancelled_by", String(16), nullable=True),
    Index("ix_bookings_tenant_id_id", "tenant_id", "id"),
    Index("ix_bookings_tenant_id_calendar_id_held_from", "tenant_id", "calendar_id", "held_from"),
    # A retried book (same request id) finds the booking the first attempt made.
    UniqueConstraint("tenant_id", "request_id", name="uq_bookings_tenant_id_request_id"),
)

# One row per slot-step cell a live booking's held time touches: the key, unique (calendar_id, cell_start), is
# what refuses a second booking of any of that time under any concurrency (SQLite has no exclusion constraints).
booking_cells = Table(
    "booking_cells",
    metadata,
    Column("calendar_id", String(40), primary_key=True),
    Column("cell_start", UtcDateTime(), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("booking_id", String(40), nullable=False),
    Index("ix_booking_cells_booking_id", "booking_id"),
)

# The answer to a booking request that failed, kept so a duplicated request (same request id) is answered the
# same way instead of being tried again; a request that booked is found by its booking's request id.
meeting_failures = Table(
    "meeting_failures",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("request_id", String(64), primary_key=True),
    Column("answer", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
