"""A local OpenTelemetry collector's trace endpoint (OTLP over HTTP, protobuf, ``POST /v1/traces``), for tests
that run services as real processes with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointed at it and look at the spans
they exported.

    receiver = OtlpReceiver()
    async with serving(receiver.app()) as port:
        ... OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}" ...
        spans = receiver.trace_of(span)           # every span of one trace, from every service
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str  # the resource's service.name
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a trace's root
    attributes: dict[str, str | int | float | bool]  # scalar values as sent; any other kind as its text
    kind: int = 0  # OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
    links: tuple[str, ...] = ()  # the span ids it links to


@dataclass
class OtlpReceiver:
    spans: list[ReceivedSpan] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/traces", self._export, methods=["POST"])])

    def trace_of(self, span: ReceivedSpan) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.trace_id == span.trace_id]

    async def _export(self, request: Request) -> Response:
        if request.headers.get("content-type") != PROTOBUF:
            return Response(status_code=415)
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(ReceivedSpan(
                        service=resource.get("service.name", ""), name=span.name, trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(), parent_span_id=span.parent_span_id.hex(),
                        attributes={a.key: _scalar(a.value) for a in span.attributes}, kind=span.kind,
                        links=tuple(link.span_id.hex() for link in span.links)))
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type=PROTOBUF)


def _scalar(value: AnyValue) -> str | int | float | bool:
    kind = value.WhichOneof("value")
    if kind in ("string_value", "int_value", "double_value", "bool_value"):
        scalar: str | int | float | bool = getattr(value, kind)
        return scalar
    return str(value)
