"""Events of anomaly detection (workflow-executor watches each tenant's agents and keys against their own
rolling baseline; the method is ``afo_workflow_executor/domain/anomalies.py``'s).

``anomaly.detected`` says that one time bucket of one signal of one agent, API key or tenant lay far from
what is normal for it; ``anomaly.resolved`` that it came back (at most one is open per tenant, scope and
signal). Both carry numbers only: no message text, no lead's data, no key's secret (a key by its id)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import WORKFLOW

# reply_latency: mean ms an agent's turns took; reply_errors: share of its replies the embedded engine gave
# because the tenant's model failed; qualification_rate / booking_rate: leads qualified / meetings booked per
# conversation started; booking_failures, crm_failures, webhook_failures: share of attempts that failed;
# key_messages: messages sent with one API key.
Signal = Literal["reply_latency", "reply_errors", "qualification_rate", "booking_rate", "booking_failures",
                 "crm_failures", "webhook_failures", "key_messages"]
SIGNALS: tuple[Signal, ...] = ("reply_latency", "reply_errors", "qualification_rate", "booking_rate",
                               "booking_failures", "crm_failures", "webhook_failures", "key_messages")
Scope = Literal["agent", "key", "tenant"]
Severity = Literal["warning", "critical"]
Resolution = Literal["recovered", "quiet", "relearned"]


@event("anomaly.detected", stream=WORKFLOW)
class AnomalyDetected(Event):
    anomaly_id: str
    signal: Signal
    scope: Scope
    agent_id: str | None = None
    key_id: str | None = None
    # ``above`` for a signal that is bad when high (latency, failures, volume), ``below`` for a rate that dropped.
    direction: Literal["above", "below"]
    observed: float
    unit: Literal["ms", "ratio", "messages"]
    volume: int = Field(description="events in the bucket: replies, conversations started, attempts, messages")
    baseline_mean: float
    baseline_sigma: float = Field(description="the standard deviation used, its floor applied")
    deviation: float = Field(description="(observed - baseline_mean) / baseline_sigma")
    window_start: datetime
    window_end: datetime
    severity: Severity
    detected_at: datetime


@event("anomaly.resolved", stream=WORKFLOW)
class AnomalyResolved(Event):
    anomaly_id: str
    signal: Signal
    scope: Scope
    agent_id: str | None = None
    key_id: str | None = None
    # ``recovered``: a bucket back within the band; ``quiet``: no bucket with enough volume for a while;
    # ``relearned``: it lasted long enough to become the new normal (the baseline starts over from it).
    resolution: Resolution
    observed: float | None = None
    resolved_at: datetime
