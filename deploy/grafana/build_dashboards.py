"""Build the Grafana dashboards in this folder from Python (standard library only).

    python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    python deploy/grafana/build_dashboards.py --check  # exit 1 if a JSON file is out of date

Edit this script, not the JSON: tests/deploy checks that the JSON is what this script produces and
that every PromQL expression uses only the metrics the services export (afo_common.telemetry).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
SVC = 'service=~"$service"'
RATE = "$__rate_interval"
# Operational routes every service serves; left out of the API latency panels.
OPS_ROUTES = 'route!~"/healthz|/readyz|/metrics"'
# API traffic only: a /readyz 503 while a pod starts or drains is not an error.
HTTP = f"{SVC}, {OPS_ROUTES}"
FIRST_DELTA_BUDGET_S = 0.25


class Layout:
    """Places panels left to right on Grafana's 24-column grid, starting a new line when full."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, w: int, h: int) -> tuple[int, dict[str, int]]:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        panel_id, self.next_id = self.next_id, self.next_id + 1
        return panel_id, pos

    def row(self, title: str) -> dict[str, Any]:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel_id, pos = self.place(24, 1)
        self.x, self.y, self.row_h = 0, self.y + 1, 0
        return {
            "type": "row",
            "id": panel_id,
            "title": title,
            "gridPos": pos,
            "collapsed": False,
            "panels": [],
        }


def target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref, "range": True}


def targets(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(pairs)]


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


def timeseries(
    layout: Layout,
    title: str,
    tgts: list[dict[str, Any]],
    unit: str,
    *,
    w: int = 12,
    h: int = 8,
    description: str = "",
    stack: bool = False,
    threshold: float | None = None,
) -> dict[str, Any]:
    panel_id, pos = layout.place(w, h)
    custom: dict[str, Any] = {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    defaults: dict[str, Any] = {"unit": unit, "custom": custom}
    if threshold is not None:
        custom["thresholdsStyle"] = {"mode": "line+area"}
        defaults["thresholds"] = thresholds((None, "transparent"), (threshold, "red"))
    return {
        "type": "timeseries",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": pos,
        "targets": tgts,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": ["mean", "max", "lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    layout: Layout,
    title: str,
    expr: str,
    unit: str,
    steps: tuple[tuple[float | None, str], ...],
    description: str = "",
) -> dict[str, Any]:
    panel_id, pos = layout.place(4, 4)
    return {
        "type": "stat",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": pos,
        "targets": [target(expr)],
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": thresholds(*steps), "color": {"mode": "thresholds"}},
            "overrides": [],
        },
        "options": {
            "colorMode": "background",
            "graphMode": "area",
            "justifyMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        },
    }


def quantiles(metric: str, by: str, legend: str, matchers: str = SVC) -> list[dict[str, Any]]:
    selector = f"{metric}{{{matchers}}}" if matchers else metric
    return targets(
        *[
            (
                f"histogram_quantile({q}, sum by (le, {by}) (rate({selector}[{RATE}])))",
                f"p{int(q * 100)} {legend}",
            )
            for q in (0.5, 0.95, 0.99)
        ]
    )


def ratio(numerator: str, denominator: str, by: str = "") -> str:
    group = f" by ({by})" if by else ""
    return (
        f"sum{group} (rate({numerator}[{RATE}])) / clamp_min(sum{group} (rate({denominator}[{RATE}])), 1e-9)"
    )


RPC_FAULTS = 'outcome=~"internal|unavailable|timeout"'


def overview() -> dict[str, Any]:
    lay = Layout()
    panels: list[dict[str, Any]] = []

    panels.append(lay.row("At a glance"))
    panels += [
        stat(
            lay,
            "Events consumed / s",
            f"sum(rate(afo_events_consumed_total{{{SVC}}}[{RATE}]))",
            "ops",
            ((None, "blue"),),
        ),
        stat(
            lay,
            "Dead letters (time range)",
            f"sum(increase(afo_dead_letters_total{{{SVC}}}[$__range]))",
            "short",
            ((None, "green"), (1, "red")),
            "Messages moved to the dead-letter stream. Anything above 0 needs a look.",
        ),
        stat(
            lay,
            "Oldest outbox event (max age)",
            f"max(afo_outbox_oldest_age_seconds{{{SVC}}})",
            "s",
            ((None, "green"), (10, "orange"), (60, "red")),
            "How long the oldest committed event has waited to reach NATS. Near 0 when all is well.",
        ),
        stat(
            lay,
            "First reply delta p95",
            f"histogram_quantile(0.95, sum by (le) (rate(afo_reply_first_delta_seconds_bucket[{RATE}])))",
            "s",
            ((None, "green"), (FIRST_DELTA_BUDGET_S, "red")),
            "Message reaching agent-runtime to its first reply delta. Budget: 250 ms.",
        ),
        stat(
            lay,
            "HTTP 5xx ratio",
            ratio(f'afo_http_requests_total{{{HTTP}, status=~"5.."}}', f"afo_http_requests_total{{{HTTP}}}"),
            "percentunit",
            ((None, "green"), (0.01, "orange"), (0.05, "red")),
        ),
        stat(
            lay,
            "RPC fault ratio",
            ratio(f"afo_rpc_requests_total{{{SVC}, {RPC_FAULTS}}}", f"afo_rpc_requests_total{{{SVC}}}"),
            "percentunit",
            ((None, "green"), (0.01, "orange"), (0.05, "red")),
            "internal, unavailable and timeout replies over all RPCs served.",
        ),
    ]

    panels.append(lay.row("Events (JetStream consumers and outbox)"))
    panels += [
        timeseries(
            lay,
            "Events consumed / s by outcome",
            targets(
                (
                    f"sum by (service, outcome) (rate(afo_events_consumed_total{{{SVC}}}[{RATE}]))",
                    "{{service}} {{outcome}}",
                )
            ),
            "ops",
            stack=True,
            description="outcome: ack, nak (retried with backoff), dead_letter, duplicate (inbox hit).",
        ),
        timeseries(
            lay,
            "Handler latency p50 / p95 / p99",
            quantiles("afo_event_handle_seconds_bucket", "service", "{{service}}"),
            "s",
        ),
        timeseries(
            lay,
            "Handler latency p95 by event type",
            targets(
                (
                    f"histogram_quantile(0.95, sum by (le, service, event_type) "
                    f"(rate(afo_event_handle_seconds_bucket{{{SVC}}}[{RATE}])))",
                    "{{service}} {{event_type}}",
                )
            ),
            "s",
        ),
        timeseries(
            lay,
            "Naks and dead letters / s by event type",
            targets(
                (
                    f"sum by (service, event_type, outcome) (rate(afo_events_consumed_total{{{SVC}, "
                    f'outcome=~"nak|dead_letter"}}[{RATE}]))',
                    "{{service}} {{event_type}} {{outcome}}",
                )
            ),
            "ops",
        ),
        timeseries(
            lay,
            "Events published / s (outbox relay)",
            targets((f"sum by (service) (rate(afo_events_published_total{{{SVC}}}[{RATE}]))", "{{service}}")),
            "ops",
            w=8,
        ),
        timeseries(
            lay,
            "Outbox pending and set aside",
            targets(
                (f"max by (service) (afo_outbox_pending{{{SVC}}})", "{{service}} pending"),
                (f"sum by (service) (increase(afo_outbox_dead_letters_total{{{SVC}}}[{RATE}]))",
                 "{{service}} unpublishable"),
            ),
            "short",
            w=8,
            description="Events committed but not yet published (should hover near 0), and events that can "
            "never be published (no stream, too large), kept in the service's outbox_dead_letters table.",
        ),
        timeseries(
            lay,
            "Dead letters by reason, turns out of order",
            targets(
                (
                    f"sum by (service, reason) (increase(afo_dead_letters_total{{{SVC}}}[{RATE}]))",
                    "{{service}} {{reason}}",
                ),
                (
                    f"sum by (service) (increase(afo_messages_answered_out_of_order_total{{{SVC}}}[{RATE}]))",
                    "{{service}} answered out of order",
                ),
            ),
            "short",
            w=8,
            threshold=1,
        ),
    ]

    panels.append(lay.row("RPC (NATS request/reply)"))
    panels += [
        timeseries(
            lay,
            "RPC requests / s",
            targets(
                (
                    f"sum by (service, operation) (rate(afo_rpc_requests_total{{{SVC}}}[{RATE}]))",
                    "{{service}} {{operation}}",
                )
            ),
            "reqps",
            w=8,
        ),
        timeseries(
            lay,
            "RPC errors / s by outcome",
            targets(
                (
                    f"sum by (service, operation, outcome) "
                    f'(rate(afo_rpc_requests_total{{{SVC}, outcome!="ok"}}[{RATE}]))',
                    "{{service}} {{operation}} {{outcome}}",
                )
            ),
            "reqps",
            w=8,
            description="Typed errors (invalid, not_found, conflict, forbidden) are answers; "
            "internal, unavailable and timeout are faults.",
        ),
        timeseries(
            lay,
            "RPC fault ratio",
            targets(
                (
                    ratio(
                        f"afo_rpc_requests_total{{{SVC}, {RPC_FAULTS}}}",
                        f"afo_rpc_requests_total{{{SVC}}}",
                        "service, operation",
                    ),
                    "{{service}} {{operation}}",
                )
            ),
            "percentunit",
            w=8,
            threshold=0.05,
        ),
        timeseries(
            lay,
            "RPC latency p50 / p95 / p99",
            quantiles("afo_rpc_seconds_bucket", "service", "{{service}}"),
            "s",
        ),
        timeseries(
            lay,
            "RPC latency p95 by operation",
            targets(
                (
                    f"histogram_quantile(0.95, sum by (le, service, operation) "
                    f"(rate(afo_rpc_seconds_bucket{{{SVC}}}[{RATE}])))",
                    "{{service}} {{operation}}",
                )
            ),
            "s",
        ),
    ]

    panels.append(lay.row("HTTP"))
    panels += [
        timeseries(
            lay,
            "HTTP requests / s by status",
            targets(
                (
                    f"sum by (service, status) (rate(afo_http_requests_total{{{HTTP}}}[{RATE}]))",
                    "{{service}} {{status}}",
                )
            ),
            "reqps",
            w=8,
            stack=True,
        ),
        timeseries(
            lay,
            "HTTP 5xx ratio",
            targets(
                (
                    ratio(
                        f'afo_http_requests_total{{{HTTP}, status=~"5.."}}',
                        f"afo_http_requests_total{{{HTTP}}}",
                        "service",
                    ),
                    "{{service}}",
                )
            ),
            "percentunit",
            w=8,
            threshold=0.05,
        ),
        timeseries(
            lay,
            "HTTP latency p50 / p95 / p99",
            quantiles("afo_http_request_seconds_bucket", "service", "{{service}}", HTTP),
            "s",
            w=8,
        ),
        timeseries(
            lay,
            "HTTP latency p95 by route",
            targets(
                (
                    f"histogram_quantile(0.95, sum by (le, service, method, route) "
                    f"(rate(afo_http_request_seconds_bucket{{{HTTP}}}[{RATE}])))",
                    "{{service}} {{method}} {{route}}",
                )
            ),
            "s",
            w=24,
        ),
    ]

    panels.append(lay.row("Conversations"))
    panels += [
        timeseries(
            lay,
            "First reply delta p50 / p95 / p99",
            quantiles("afo_reply_first_delta_seconds_bucket", "service", "{{service}}", ""),
            "s",
            w=24,
            threshold=FIRST_DELTA_BUDGET_S,
            description="From a message reaching agent-runtime to its first streamed reply "
            "delta (every channel). Budget: p95 under 250 ms.",
        ),
    ]

    return {
        "uid": "afo-overview",
        "title": "AFO / Platform overview",
        "description": "Events, RPC, HTTP and reply latency across the six AFO services.",
        "tags": ["afo"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "links": [],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                },
                {
                    "name": "service",
                    "label": "Service",
                    "type": "query",
                    "datasource": DS,
                    "definition": "label_values(afo_http_requests_total, service)",
                    "query": {"query": "label_values(afo_http_requests_total, service)", "refId": "service"},
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                    "current": {},
                    "hide": 0,
                    "refresh": 2,
                    "sort": 1,
                    "regex": "",
                    "options": [],
                },
            ]
        },
        "panels": panels,
    }


DASHBOARDS = {"afo-overview.json": overview}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = HERE / name
        text = render(build)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python deploy/grafana/build_dashboards.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
