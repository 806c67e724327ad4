"""The gateway's database: tenants, users, API keys, sessions, stream tokens, idempotency records, audit log,
the vault, pending OAuth consents, inbound lead sources and what operators did to dead letters."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, LargeBinary, String, Table, Text

from afo_common.db import UtcDateTime, new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False, index=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(120), nullable=False),
    # Keys are high-entropy random strings, so a SHA-256 digest is enough to store them safely.
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("agent_id", String(40), nullable=True),
    Column("allowed_origins", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(40), nullable=False),
    Column("tenant_id", String(40), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)

stream_tokens = Table(
    "stream_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("conversation_id", String(40), nullable=False),
    # The key or session the token was issued to (its kind and digest): the token lives no longer than it.
    Column("principal_kind", String(16), nullable=False),
    Column("credential", String(64), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)

# One record per Idempotency-Key of one principal on one route; "" is the tenant of public routes.
idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("principal", String(80), primary_key=True),
    Column("method", String(8), primary_key=True),
    Column("route", String(200), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    # NULL while the first request runs (the key is reserved); then the response a replay returns.
    Column("status_code", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("target", String(80), nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_audit_log_tenant_id_at", "tenant_id", "at"),
    Index("ix_audit_log_tenant_id_id", "tenant_id", "id"),  # its pages, newest first (migration 0012)
)

conversation_sequences = Table(
    "conversation_sequences",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("conversation_id", String(40), primary_key=True),
    Column("last_sequence", Integer, nullable=False),
)

# Integrator credentials for NATS: each may subscribe to its tenant's events (the gateway's auth callout
# admits it). Secrets are random, stored as SHA-256 digests like API keys.
event_credentials = Table(
    "event_credentials",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

# Providers' credentials (the vault): each tenant's fields for a provider sealed with AES-GCM as one blob,
# with the nonce and the id of the key that sealed it (``domain/vault.py``). Nothing here is plaintext.
integrations = Table(
    "integrations",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("provider", String(40), primary_key=True),
    Column("key_id", String(32), nullable=False, index=True),
    Column("nonce", LargeBinary(), nullable=False),
    Column("ciphertext", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Pending OAuth consents (``GET /v1/integrations/{provider}/connect``): the `state` sent through the provider's
# consent page, stored as a SHA-256 digest, taken (deleted) by the callback, so it works once, on any replica.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("subject_id", String(40), nullable=False),  # who started it: the audit entry of the connection
    Column("redirect_uri", String(500), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)

# Inbound lead sources (``POST /v1/inbound/{id}``): a token source keeps its token's SHA-256, a signature source
# its Standard Webhooks secret sealed like a vault record (AES-GCM, tenant and source id as associated data).
inbound_sources = Table(
    "inbound_sources",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("agent_id", String(40), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("auth", String(16), nullable=False),
    Column("field_map", JSON, nullable=False),
    Column("phone_region", String(2), nullable=True),
    Column("token_hash", String(64), nullable=True),
    Column("key_id", String(32), nullable=True),
    Column("nonce", LargeBinary(), nullable=True),
    Column("ciphertext", LargeBinary(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

# What operators did to dead letters (``handlers/dead_letters.py``): one row per dead letter replayed or discarded,
# keyed by its id in the DEADLETTER stream, so a second replay or discard finds the first and does nothing again.
# The platform's, not a tenant's: ``tenant_id`` is the tenant whose event it was, kept for the record.
dead_letter_actions = Table(
    "dead_letter_actions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("action", String(16), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("service", String(40), nullable=False),
    Column("stream", String(40), nullable=False),
    Column("consumer", String(120), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("tenant_id", String(40), nullable=True),
    Column("event_id", String(64), nullable=True),
    Column("event_type", String(120), nullable=True),
    Column("reason", Text(), nullable=False),
    Column("num_delivered", Integer, nullable=False),
    Column("failed_at", UtcDateTime(), nullable=False),
)

# The plans operators edit (``domain/plans.py``): one row each of free, pro and enterprise; NULL is unlimited.
plans = Table(
    "plans",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("agents", BigInteger, nullable=True),
    Column("knowledge_bytes", BigInteger, nullable=True),
    Column("messages_per_month", BigInteger, nullable=True),
    Column("voice_minutes_per_month", BigInteger, nullable=True),
    Column("concurrent_calls", BigInteger, nullable=True),
    Column("requests_per_minute", BigInteger, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Each tenant's plan. ``revision`` counts its changes (``tenant.plan_changed`` carries it); ``announced`` is false
# only for tenants the migration put on a plan, until their first event is out.
tenant_plans = Table(
    "tenant_plans",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("plan", String(32), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("announced", Boolean, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
)

# Use counted from events, per tenant, calendar month (UTC, "2026-03") and metric (messages, voice_seconds).
usage_counters = Table(
    "usage_counters",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("metric", String(24), primary_key=True),
    Column("amount", Float, nullable=False),
)
