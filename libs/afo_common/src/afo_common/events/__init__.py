"""Event schemas. Importing this package registers every event type."""

from afo_common.events import (
    agent,
    anomaly,
    call,
    conversation,
    knowledge,
    notification,
    tenant,
    webhooks,
    workflow,
    workflow_runs,
)
from afo_common.events.envelope import (
    Envelope,
    Event,
    SchemaError,
    envelope_for,
    event,
    parse_envelope,
    registered_events,
)

__all__ = [
    "Envelope",
    "Event",
    "SchemaError",
    "agent",
    "anomaly",
    "call",
    "conversation",
    "envelope_for",
    "event",
    "knowledge",
    "notification",
    "parse_envelope",
    "registered_events",
    "tenant",
    "webhooks",
    "workflow",
    "workflow_runs",
]
