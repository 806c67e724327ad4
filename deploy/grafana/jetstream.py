"""AFO / JetStream: stream sizes, consumer lag and redeliveries from the prometheus-nats-exporter sidecar of the
NATS StatefulSet (deploy/k8s/base/nats, ``-jsz=all``), with the services' own dead letters and naks beside them.

The exporter's JetStream series are ``<system>_stream_*`` and ``<system>_consumer_*``; its ``-prefix=nats``
replaces the default system ``jetstream`` too, hence ``nats_consumer_num_pending``. Those names are not ours:
tests/deploy checks them against the exporter's (NATS_EXPORTER_METRICS) and the sidecar's flags, and the e2e
scrape test covers the services' metrics only."""

from __future__ import annotations

from typing import Any

from panels import RATE, Layout, dashboard, stat, targets, timeseries, variable

# Every NATS pod reports the streams and consumers it holds a replica of: max over pods is the value.
STREAM = 'stream_name=~"$stream"'
STREAM_VARIABLE = variable("stream", "Stream", "nats_stream_total_messages", "stream_name")


def build() -> dict[str, Any]:
    lay = Layout()
    panels: list[dict[str, Any]] = [lay.row("At a glance")]
    panels += [
        stat(lay, "Consumer lag (max)", f"max(nats_consumer_num_pending{{{STREAM}}})", "short",
             ((None, "green"), (100, "orange"), (1000, "red")),
             "Messages in a stream that a consumer has not been delivered yet (num_pending)."),
        stat(lay, "Awaiting ack (max)", f"max(nats_consumer_num_ack_pending{{{STREAM}}})", "short",
             ((None, "green"), (100, "orange"), (1000, "red"))),
        stat(lay, "Redelivered (now)", f"sum(max by (stream_name, consumer_name) "
             f"(nats_consumer_num_redelivered{{{STREAM}}}))", "short", ((None, "green"), (1, "orange"))),
        stat(lay, "Dead letters (time range)", "sum(increase(afo_dead_letters_total[$__range]))", "short",
             ((None, "green"), (1, "red"))),
        stat(lay, "Dead-letter stream size", 'max(nats_stream_total_messages{stream_name="DEADLETTER"})',
             "short", ((None, "green"), (1, "orange"))),
        stat(lay, "Stored bytes (all streams)",
             "sum(max by (stream_name) (nats_stream_total_bytes))", "bytes", ((None, "blue"),)),
    ]
    panels.append(lay.row("Streams"))
    panels += [
        timeseries(lay, "Messages per stream",
                   targets((f"max by (stream_name) (nats_stream_total_messages{{{STREAM}}})",
                            "{{stream_name}}")), "short", w=12),
        timeseries(lay, "Bytes per stream",
                   targets((f"max by (stream_name) (nats_stream_total_bytes{{{STREAM}}})",
                            "{{stream_name}}")), "bytes", w=12),
    ]
    panels.append(lay.row("Consumers"))
    panels += [
        timeseries(lay, "Consumer lag (num_pending)",
                   targets((f"max by (stream_name, consumer_name) (nats_consumer_num_pending{{{STREAM}}})",
                            "{{stream_name}} / {{consumer_name}}")), "short", w=12, threshold=1000),
        timeseries(lay, "Awaiting ack (num_ack_pending)",
                   targets((f"max by (stream_name, consumer_name) (nats_consumer_num_ack_pending{{{STREAM}}})",
                            "{{stream_name}} / {{consumer_name}}")), "short", w=12),
        timeseries(lay, "Redeliveries",
                   targets((f"max by (stream_name, consumer_name) (nats_consumer_num_redelivered{{{STREAM}}})",
                            "{{stream_name}} / {{consumer_name}}")), "short", w=12,
                   description="Messages delivered more than once and not yet acknowledged (a nak, a handler "
                   "slower than the ack wait, a crash)."),
        timeseries(lay, "Naks / s by service (handler side)",
                   targets((f'sum by (service) (rate(afo_events_consumed_total{{outcome="nak"}}[{RATE}]))',
                            "{{service}}")), "ops", w=12),
    ]
    panels.append(lay.row("Dead letters"))
    panels += [
        timeseries(lay, "Dead letters by service and reason",
                   targets((f"sum by (service, reason) (increase(afo_dead_letters_total[{RATE}]))",
                            "{{service}} {{reason}}")), "short", w=12, threshold=1),
        timeseries(lay, "Dead-letter stream size",
                   targets(('max(nats_stream_total_messages{stream_name="DEADLETTER"})', "DEADLETTER")),
                   "short", w=12),
    ]
    return dashboard(
        "afo-jetstream",
        "AFO / JetStream",
        "Stream sizes, consumer lag, redeliveries and dead letters (prometheus-nats-exporter and the services).",
        panels,
        variables=[STREAM_VARIABLE],
    )
