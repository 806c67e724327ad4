"""OpenTelemetry tracing (traceparent travels in the event envelope) and the Prometheus metrics every
service exports on ``/metrics``. Metric names are the contract with deploy/grafana and the alerts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Gauge, Histogram

_propagator = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("afo")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

EVENTS_CONSUMED = Counter(
    "afo_events_consumed", "Events handled by a consumer", ["service", "event_type", "outcome"]
)
EVENT_HANDLE_SECONDS = Histogram(
    "afo_event_handle_seconds", "Time to handle one event", ["service", "event_type"], buckets=_LATENCY_BUCKETS
)
EVENTS_PUBLISHED = Counter("afo_events_published", "Events published from the outbox", ["service"])
OUTBOX_PENDING = Gauge("afo_outbox_pending", "Events waiting in the outbox", ["service"])
OUTBOX_OLDEST_AGE_SECONDS = Gauge(
    "afo_outbox_oldest_age_seconds", "Age of the oldest event waiting in the outbox", ["service"]
)
OUTBOX_DEAD_LETTERS = Counter(
    "afo_outbox_dead_letters", "Outbox events that can never be published, set aside with the reason", ["service"]
)
RPC_REQUESTS = Counter("afo_rpc_requests", "RPC requests served", ["service", "operation", "outcome"])
RPC_SECONDS = Histogram(
    "afo_rpc_seconds", "Time to serve one RPC", ["service", "operation"], buckets=_LATENCY_BUCKETS
)
HTTP_REQUESTS = Counter("afo_http_requests", "HTTP requests", ["service", "method", "route", "status"])
HTTP_SECONDS = Histogram(
    "afo_http_request_seconds", "HTTP request time", ["service", "method", "route"], buckets=_LATENCY_BUCKETS
)
DEAD_LETTERS = Counter("afo_dead_letters", "Messages moved to the dead-letter stream", ["service", "reason"])
MESSAGES_ANSWERED_OUT_OF_ORDER = Counter(
    "afo_messages_answered_out_of_order",
    "Messages answered before an earlier one of their conversation, after waiting the longest allowed",
    ["service"],
)
REPLY_FIRST_DELTA_SECONDS = Histogram(
    "afo_reply_first_delta_seconds",
    "From a message reaching agent-runtime to its first reply delta",
    ["service"],
    buckets=_LATENCY_BUCKETS,
)


class RedactQueryStrings(SpanProcessor):
    """A query string can carry a credential (EventSource sends its token as ``?access_token=``): HTTP
    spans keep the parameters' names, never their values."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        query = (getattr(span, "attributes", None) or {}).get("url.query")
        if isinstance(query, str) and query:
            names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
            span.set_attribute("url.query", "&".join(f"{name}=REDACTED" for name in names))


def tracer_provider(service: str, exporter: SpanExporter | None) -> TracerProvider:
    """Spans are recorded only when something exports them; otherwise trace ids still propagate (so
    logs and events correlate) at no cost on the hot path."""
    resource = Resource.create({"service.name": f"afo-{service}"})
    provider = TracerProvider(resource=resource, sampler=ParentBased(ALWAYS_ON) if exporter else ALWAYS_OFF)
    provider.add_span_processor(RedactQueryStrings())
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def setup_tracing(service: str) -> None:
    """Export spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    exporter: SpanExporter | None = None
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    trace.set_tracer_provider(tracer_provider(service, exporter))


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def span_from(traceparent: str | None, name: str, kind: SpanKind = SpanKind.CONSUMER) -> Iterator[Span]:
    """A span that continues the trace a message carried (or starts one)."""
    parent = _propagator.extract({"traceparent": traceparent}) if traceparent else otel_context.Context()
    token = otel_context.attach(parent)
    try:
        with _tracer.start_as_current_span(name, kind=kind) as span:
            yield span
    finally:
        otel_context.detach(token)
