"""AFO / Platform overview: events, RPC, HTTP and reply latency across the six services."""

from __future__ import annotations

from typing import Any

from panels import (
    FIRST_DELTA_BUDGET_S,
    HTTP,
    RATE,
    SVC,
    Layout,
    dashboard,
    quantiles,
    ratio,
    stat,
    targets,
    timeseries,
)

RPC_FAULTS = 'outcome=~"internal|unavailable|timeout|expired"'


def build() -> dict[str, Any]:
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

    return dashboard(
        "afo-overview",
        "AFO / Platform overview",
        "Events, RPC, HTTP and reply latency across the six AFO services.",
        panels,
    )
