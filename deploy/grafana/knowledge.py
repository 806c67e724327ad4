"""AFO / Knowledge: document ingestion (knowledge-ingest) and the knowledge RPCs agents search with."""

from __future__ import annotations

from typing import Any

from panels import RATE, Layout, dashboard, quantiles, ratio, stat, targets, timeseries

KI = 'service="knowledge-ingest"'


def build() -> dict[str, Any]:
    lay = Layout()
    panels: list[dict[str, Any]] = [lay.row("Ingestion")]
    panels += [
        stat(lay, "Documents ready (time range)",
             'sum(increase(afo_documents_ingested_total{outcome="ready"}[$__range]))', "short", ((None, "blue"),)),
        stat(lay, "Documents failed (time range)",
             'sum(increase(afo_documents_ingested_total{outcome="failed"}[$__range]))', "short",
             ((None, "green"), (1, "orange"))),
        stat(lay, "Failed ratio",
             ratio('afo_documents_ingested_total{outcome="failed"}', "afo_documents_ingested_total"),
             "percentunit", ((None, "green"), (0.05, "orange"), (0.2, "red")),
             "Unreadable, too large or repeatedly failing documents over all that finished."),
        stat(lay, "Chunks made searchable (time range)", "sum(increase(afo_chunks_ingested_total[$__range]))",
             "short", ((None, "blue"),)),
        stat(lay, "Ingest outbox oldest event", f"max(afo_outbox_oldest_age_seconds{{{KI}}})", "s",
             ((None, "green"), (10, "orange"), (60, "red"))),
        stat(lay, "Knowledge RPC faults / s",
             f'sum(rate(afo_rpc_requests_total{{{KI}, outcome=~"internal|unavailable|timeout|expired"}}[{RATE}]))',
             "reqps", ((None, "green"), (0.01, "red"))),
        timeseries(lay, "Documents finished / s by outcome",
                   targets((f"sum by (outcome) (rate(afo_documents_ingested_total[{RATE}]))", "{{outcome}}")),
                   "ops", w=12, stack=True),
        timeseries(lay, "Chunks made searchable / s",
                   targets((f"sum(rate(afo_chunks_ingested_total[{RATE}]))", "chunks")), "ops", w=12),
    ]
    panels.append(lay.row("Search and management RPCs"))
    panels += [
        timeseries(lay, "Knowledge RPCs / s by operation",
                   targets((f"sum by (operation) (rate(afo_rpc_requests_total{{{KI}}}[{RATE}]))", "{{operation}}")),
                   "reqps", w=12),
        timeseries(lay, "Knowledge RPC latency p50 / p95 / p99",
                   quantiles("afo_rpc_seconds_bucket", "operation", "{{operation}}", KI), "s", w=12),
    ]
    return dashboard(
        "afo-knowledge",
        "AFO / Knowledge",
        "Documents ingested and failed, chunks made searchable, and the knowledge RPCs (knowledge-ingest).",
        panels,
        variables=[],
    )
