"""The voice-media database: calls (with the one-time ticket their media WebSocket is opened with), each call's
turns with their words and latency, and its own copy of each tenant's call limits, beside the outbox and inbox."""

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

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
    Index("ix_calls_tenant_conversation", "tenant_id", "conversation_id"),
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
    # The latency's main components in whole milliseconds (copied from ``latency`` when the turn is recorded), so
    # analytics counts them in the database: NULL where the step did not happen.
    Column("turn_decision_ms", Integer, nullable=True),
    Column("stt_final_ms", Integer, nullable=True),
    Column("first_reply_delta_ms", Integer, nullable=True),
    Column("first_tts_audio_ms", Integer, nullable=True),
    Column("first_audio_out_ms", Integer, nullable=True),
    # Analytics reads a tenant's range of turns from the index alone.
    Index("ix_turns_tenant_started", "tenant_id", "started_at", "call_id", "turn_decision_ms", "stt_final_ms",
          "first_reply_delta_ms", "first_tts_audio_ms", "first_audio_out_ms"),
)

# Each tenant's call limits, copied from ``tenant.plan_changed`` (the gateway owns plans): the newest revision kept.
# NULL is unlimited; a tenant without a row has announced no limits yet.
tenant_call_limits = Table(
    "tenant_call_limits",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("plan", String(32), nullable=False),
    Column("concurrent_calls", BigInteger, nullable=True),
    Column("voice_minutes_per_month", BigInteger, nullable=True),
    Column("revision", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
