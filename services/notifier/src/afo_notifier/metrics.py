"""notifier's domain metrics (the shared ones are in afo_common.telemetry). Names are the contract with
deploy/grafana and deploy/prometheus; labels stay low-cardinality (never a tenant, subscription or URL)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SERVICE = "notifier"
_RESPONSE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

WEBHOOK_ATTEMPTS = Counter(
    "afo_webhook_deliveries",
    "Webhook delivery attempts: outcome=delivered, failed (retried later) or gone (the endpoint answered 410)",
    ["service", "outcome"],
)
WEBHOOK_RESPONSE_SECONDS = Histogram(
    "afo_webhook_response_seconds", "Time a webhook endpoint took to answer", ["service"], buckets=_RESPONSE_BUCKETS
)
