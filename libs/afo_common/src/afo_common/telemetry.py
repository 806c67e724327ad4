"""OpenTelemetry tracing (traceparent travels in the event envelope) and the Prometheus metrics every
service exports on ``/metrics``. Metric names are the contract with deploy/grafana and the alerts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import Span, SpanKind, StatusCode
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


@contextmanager
def provider_span(provider: str, method: str, url: str, deadline: float | None = None) -> Iterator[Span]:
    """One call to a provider's API (an LLM, Deepgram, ElevenLabs, Twilio, a calendar, a CRM, a webhook's target)
    as a client span of the work that made it; ``answered`` gives it the status. It holds the provider, the method
    and the host, never the path (a calendar's id can be an email address), the query or a header: credentials
    travel there. It is not made current: a provider call is a leaf, and the span may be ended from another task
    than the one that began it (a stream closed when its reader stops). ``deadline`` (the event loop's clock) is
    the caller's own time limit: a call it cuts is a timeout, an error, not a cancellation."""
    span = _tracer.start_span(f"{method} {provider}", kind=SpanKind.CLIENT, attributes={
        "afo.provider": provider, "http.request.method": method, "server.address": urlsplit(url).hostname or ""})
    try:
        yield span
    except BaseException as exc:
        # The type only (an exception's message can quote the URL, query string and all): the client's own, under
        # an adapter's wrapping, unless the answer's status already said what failed. A cancelled call (the caller
        # spoke over the agent, a drain) is named as such but is no error.
        cut = (isinstance(exc, asyncio.CancelledError) and deadline is not None
               and asyncio.get_running_loop().time() >= deadline)
        if cut:
            span.set_attribute("error.type", TimeoutError.__qualname__)
        elif "error.type" not in (getattr(span, "attributes", None) or {}):
            span.set_attribute("error.type", type(exc.__cause__ or exc).__qualname__)
        if isinstance(exc, Exception) or cut:
            span.set_status(StatusCode.ERROR)
        raise
    finally:
        span.end()


def answered(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 400:
        span.set_attribute("error.type", str(status))
        span.set_status(StatusCode.ERROR)
