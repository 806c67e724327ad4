"""knowledge-ingest's domain metrics (the shared ones are in afo_common.telemetry). Names are the contract
with deploy/grafana and deploy/prometheus; labels stay low-cardinality (never a tenant or document id)."""

from __future__ import annotations

from prometheus_client import Counter

SERVICE = "knowledge-ingest"

DOCUMENTS_INGESTED = Counter(
    "afo_documents_ingested", "Documents whose ingestion ended: outcome=ready or failed", ["service", "outcome"]
)
CHUNKS_INGESTED = Counter("afo_chunks_ingested", "Chunks of documents made searchable", ["service"])
