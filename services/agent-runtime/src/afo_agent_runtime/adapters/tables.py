"""agent-runtime's database: agents and their immutable versions, conversations, messages, leads."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint, text

from afo_common.db import UtcDateTime, new_metadata
from afo_common.messaging.tables import messaging_tables
from afo_common.tallies import tally_table

metadata = new_metadata()
messaging = messaging_tables(metadata)

agents = Table(
    "agents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False, index=True),
    Column("spec", JSON, nullable=False),
    Column("published_version", Integer, nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("request_id", String(64), nullable=True),
    # A retried create (same request id) finds the agent the first attempt made.
    UniqueConstraint("tenant_id", "request_id", name="uq_agents_tenant_id_request_id"),
)

agent_versions = Table(
    "agent_versions",
    metadata,
    Column("agent_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
    # The agent's tests when it was published: "passed" (a run of this configuration passed them all) or
    # "overridden" (they failed or were not run, and the publish said to go ahead); NULL: it had none.
    Column("tests", String(16), nullable=True),
    Column("test_run_id", String(40), nullable=True),
)

# Scripted conversations with expectations, run against an agent's draft before it is published.
agent_tests = Table(
    "agent_tests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("agent_id", String(40), nullable=False),
    Column("name", String(120), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("turns", JSON, nullable=False),
    Column("expectations", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("request_id", String(64), nullable=True),
    Index("ix_agent_tests_tenant_id_agent_id", "tenant_id", "agent_id", "id"),
    UniqueConstraint("tenant_id", "request_id", name="uq_agent_tests_tenant_id_request_id"),
)

# A run of an agent's tests: the draft it played against (digest), each test's verdict (what publishing
# reads) and each test's transcript and expectations (what a tenant reads). The newest runs are kept.
agent_test_runs = Table(
    "agent_test_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("agent_id", String(40), nullable=False),
    Column("spec_digest", String(64), nullable=False),
    Column("status", String(8), nullable=False),
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("verdicts", JSON, nullable=False),
    Column("results", JSON, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_agent_test_runs_tenant_id_agent_id", "tenant_id", "agent_id", "id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("agent_id", String(40), nullable=False),
    Column("agent_version", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("contact", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("lead_id", String(40), nullable=True),
    Column("memory", JSON, nullable=False),
    # Optimistic concurrency: two turns of one conversation never both commit on the same state.
    Column("revision", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The highest message sequence answered: a message further ahead waits for the ones before it.
    Column("last_sequence", Integer, nullable=False, server_default=text("0")),
    Column("request_id", String(64), nullable=True),
    # When the conversation ends for want of a message (the agent's idle timeout after the last turn).
    Column("idle_at", UtcDateTime(), nullable=True, index=True),
    # Set once, by whoever ends it first (closed, opted_out, idle); its analysis follows once.
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("close_reason", String(16), nullable=True),
    Column("analysis", JSON(none_as_null=True), nullable=True),  # SQL NULL until analysed, not JSON null
    # The funnel's facts, each set once when it first happens (analytics counts them by the start's day).
    Column("qualified_at", UtcDateTime(), nullable=True),
    Column("booked_at", UtcDateTime(), nullable=True),
    Column("handed_off_at", UtcDateTime(), nullable=True),
    Index("ix_conversations_tenant_id_id", "tenant_id", "id"),
    # Analytics reads a tenant's range from the index alone: every column the funnel counts, and the ids of the
    # conversations of one agent or channel (whose replies a filtered summary reads).
    Index("ix_conversations_analytics", "tenant_id", "created_at", "channel", "agent_id", "qualified_at", "booked_at",
          "handed_off_at", "id"),
    UniqueConstraint("tenant_id", "request_id", name="uq_conversations_tenant_id_request_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("conversation_id", String(40), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("in_reply_to", String(40), nullable=True),
    Column("intent", String(32), nullable=True),
    Column("engine", String(16), nullable=True),
    Column("citations", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # A reply to the lead's message: milliseconds from that message accepted to this reply committed.
    Column("reply_ms", Integer, nullable=True),
    # A reply that could not answer the lead's question from the documents: the question, normalised.
    Column("unanswered", String(200), nullable=True),
    # At most one reply per user message, whatever happens to deliveries.
    UniqueConstraint("in_reply_to", name="uq_messages_in_reply_to"),
    Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
    # Analytics' ranges over a tenant's replies and unanswered questions; partial, so only those rows pay.
    Index("ix_messages_replies", "tenant_id", "created_at", "reply_ms", "conversation_id",
          sqlite_where=text("reply_ms IS NOT NULL"), postgresql_where=text("reply_ms IS NOT NULL")),
    Index("ix_messages_unanswered", "tenant_id", "created_at", "unanswered", "conversation_id",
          sqlite_where=text("unanswered IS NOT NULL"), postgresql_where=text("unanswered IS NOT NULL")),
)

leads = Table(
    "leads",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("conversation_id", String(40), nullable=False, unique=True),
    Column("agent_id", String(40), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("missing_fields", JSON, nullable=False),
    Column("qualified", Boolean, nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The conversation's summary, once it was analysed.
    Column("summary", Text, nullable=True),
    Index("ix_leads_tenant_id_id", "tenant_id", "id"),
)

# The phone numbers an agent answers (SMS now, calls later): one number belongs to one agent platform-wide,
# so an inbound webhook that names only the number called finds its tenant and agent.
phone_numbers = Table(
    "phone_numbers",
    metadata,
    Column("number", String(20), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("agent_id", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_phone_numbers_tenant_id_agent_id", "tenant_id", "agent_id"),
)

# The latest conversation of a lead's phone with an agent: where that phone's next SMS goes.
contact_conversations = Table(
    "contact_conversations",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("agent_id", String(40), primary_key=True),
    Column("phone", String(20), primary_key=True),
    Column("conversation_id", String(40), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Turns counted per agent and API key ('' for none) and window, until the window is sent (``afo_common.tallies``).
turn_tallies = tally_table(metadata, "turn_tallies", ("agent_id", "key_id"),
                           (("messages", Integer), ("replies", Integer), ("reply_ms_total", Float),
                            ("fallbacks", Integer)))
