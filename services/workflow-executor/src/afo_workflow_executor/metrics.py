"""workflow-executor's domain metrics (the shared ones are in afo_common.telemetry). Names are the contract
with deploy/grafana and deploy/prometheus; labels stay low-cardinality (never a tenant, lead or meeting id)."""

from __future__ import annotations

from prometheus_client import Counter

SERVICE = "workflow-executor"

BOOKINGS = Counter(
    "afo_bookings", "Meeting requests answered: outcome=booked, or the failure reason", ["service", "outcome"]
)
CRM_SYNCS = Counter(
    "afo_crm_syncs", "CRM sync attempts: outcome=synced, skipped, retrying or failed",
    ["service", "provider", "outcome"],
)
