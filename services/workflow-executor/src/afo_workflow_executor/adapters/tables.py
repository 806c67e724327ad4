"""The workflow-executor database: calendars, bookings and the cells bookings occupy, beside the outbox and
inbox."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

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

# CRM sync: what workflow-executor knows of each lead (a projection of agent-runtime's events), the record a
# lead has in each CRM, and the run record of every sync with its provider calls.
crm_leads = Table(
    "crm_leads",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), nullable=True),
    Column("agent_id", String(40), nullable=True),
    Column("fields", JSON, nullable=False),
    Column("fields_at", UtcDateTime(), nullable=True),
    Column("qualified", Boolean, nullable=False),
    Column("summary", Text, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("next_step", Text, nullable=True),
    Column("analyzed_at", UtcDateTime(), nullable=True),
    Column("meeting_id", String(40), nullable=True),
    Column("meeting_start", UtcDateTime(), nullable=True),
    Column("meeting_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

crm_links = Table(
    "crm_links",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("lead_id", String(40), primary_key=True),
    Column("provider", String(16), primary_key=True),
    Column("record_id", String(64), nullable=False),
    Column("url", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

crm_syncs = Table(
    "crm_syncs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("lead_id", String(40), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("action", String(8), nullable=True),
    Column("record_id", String(64), nullable=True),
    Column("url", String(500), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("http_status", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # A redelivered or replayed event continues its sync, never starts a second.
    UniqueConstraint("tenant_id", "event_id", name="uq_crm_syncs_tenant_id_event_id"),
    Index("ix_crm_syncs_tenant_id_lead_id_id", "tenant_id", "lead_id", "id"),
)

provider_calls = Table(
    "provider_calls",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("idempotency_key", String(64), primary_key=True),
    Column("sync_id", String(40), nullable=False),
    Column("step", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("done", Boolean, nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_provider_calls_sync_id", "sync_id"),
)

# Who is syncing a lead right now, across replicas: a claim that lapses at ``until`` (a crashed holder's too).
crm_claims = Table(
    "crm_claims",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("lead_id", String(40), primary_key=True),
    Column("owner", String(40), nullable=False),
    Column("until", UtcDateTime(), nullable=False),
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

# Workflows (``domain/workflows.py``): the tenant's compiled instructions, their runs (one per workflow and
# event, the id derived from both) and each run's steps with input, output and error.
workflows = Table(
    "workflows",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("instruction", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("builtin", Boolean, nullable=False),
    Column("engine", String(16), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("notify", JSON, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # A retried create (same request id) finds the workflow the first attempt made.
    UniqueConstraint("tenant_id", "request_id", name="uq_workflows_tenant_id_request_id"),
    Index("ix_workflows_tenant_id_trigger_status", "tenant_id", "trigger", "status"),
)

workflow_runs = Table(
    "workflow_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("workflow_id", String(40), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("lead_id", String(40), nullable=True),
    Column("status", String(16), nullable=False),
    Column("next_step", Integer, nullable=False),
    Column("reason", String(500), nullable=True),
    Column("resume_at", UtcDateTime(), nullable=True),
    Column("context", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_workflow_runs_tenant_id_workflow_id_id", "tenant_id", "workflow_id", "id"),
    # The waiting runs' due index, polled to resume them.
    Index("ix_workflow_runs_status_resume_at", "status", "resume_at"),
)

workflow_run_steps = Table(
    "workflow_run_steps",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("index", Integer, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("type", String(16), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("input", JSON, nullable=False),
    Column("output", JSON, nullable=True),
    Column("error", String(500), nullable=True),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
)

# Anomaly detection (``domain/anomalies.py``): each signal's open bucket and baseline, and the anomalies found.
anomaly_signals = Table(
    "anomaly_signals",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("signal", String(32), primary_key=True),
    Column("scope_id", String(64), primary_key=True),
    Column("bucket_start", UtcDateTime(), nullable=False),
    Column("amount", Float, nullable=False),
    Column("volume", Integer, nullable=False),
    Column("mean", Float, nullable=False),
    Column("var", Float, nullable=False),
    Column("buckets", Integer, nullable=False),
    Column("anomalous_run", Integer, nullable=False),
    Column("quiet_run", Integer, nullable=False),
    Column("open_anomaly_id", String(40), nullable=True),
    # What the tick reads: the signals whose open bucket has ended.
    Index("ix_anomaly_signals_bucket_start", "bucket_start"),
)

anomalies = Table(
    "anomalies",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("signal", String(32), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("scope_id", String(64), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("observed", Float, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("volume", Integer, nullable=False),
    Column("baseline_mean", Float, nullable=False),
    Column("baseline_sigma", Float, nullable=False),
    Column("deviation", Float, nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("window_end", UtcDateTime(), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("resolution", String(16), nullable=True),
    # The tenant's anomalies newest first.
    Index("ix_anomalies_tenant_id_detected_at_id", "tenant_id", "detected_at", "id"),
)
