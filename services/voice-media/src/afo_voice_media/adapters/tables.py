"""The voice-media database: calls (with the one-time ticket their media WebSocket is opened with) and each
call's turns with their words and latency, beside the outbox and inbox."""

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from afo_common.db import UtcDateTime, new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)

calls = Table(
    "calls",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("agent_id", String(40), nullable=False),
    Column("conversation_id", String(40), nullable=False),
    Column("transport", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("caller", String(32), nullable=True),
    Column("called", String(32), nullable=True),
    Column("provider_call_id", String(64), nullable=True),
    # SHA-256 of the ticket in the media URL; the ticket itself is never stored.
    Column("ticket_hash", String(64), nullable=True, unique=True),
    Column("ticket_expires_at", UtcDateTime(), nullable=True),
    Column("state", String(16), nullable=False),
    Column("provider_status", String(32), nullable=True),
    Column("end_reason", String(24), nullable=True),
    # What the call needs once its media arrives: the agent's greeting, voice settings, recogniser hints.
    Column("greeting", Text, nullable=False),
    Column("voice", JSON, nullable=False),
    Column("hints", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("turns", Integer, nullable=False),
    # The object-store name of the call's recording (stereo μ-law WAV), once stored.
    Column("recording", String(200), nullable=True),
    Column("recording_bytes", Integer, nullable=True),
    Column("recording_s", Float, nullable=True),
    UniqueConstraint("tenant_id", "provider_call_id"),
    Index("ix_calls_tenant_created", "tenant_id", "created_at"),
)

turns = Table(
    "turns",
    metadata,
    Column("call_id", String(40), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("caller_text", Text, nullable=False),
    Column("agent_text", Text, nullable=True),
    Column("heard_text", Text, nullable=True),
    Column("interrupted", Boolean, nullable=False),
    Column("message_id", String(40), nullable=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=False),
    Column("latency", JSON, nullable=True),
)
