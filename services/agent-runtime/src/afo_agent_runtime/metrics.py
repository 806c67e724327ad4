"""agent-runtime's domain metrics (the shared ones are in afo_common.telemetry). Names are the contract with
deploy/grafana and deploy/prometheus; labels stay low-cardinality (never a tenant, agent or conversation id)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SERVICE = "agent-runtime"
# Replies stream for a few seconds when a model writes them: the buckets reach further than the shared ones.
_REPLY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

CONVERSATIONS_STARTED = Counter(
    "afo_conversations_started", "Conversations started, by channel", ["service", "channel"]
)
REPLIES = Counter(
    "afo_replies", "Replies recorded, by channel; outcome=fallback when the embedded engine stood in for the model",
    ["service", "channel", "outcome"],
)
REPLY_SECONDS = Histogram(
    "afo_reply_seconds", "From a message reaching agent-runtime to its whole reply streamed", ["service", "channel"],
    buckets=_REPLY_BUCKETS,
)
LEADS_QUALIFIED = Counter("afo_leads_qualified", "Leads that became qualified, by channel", ["service", "channel"])
