"""HTTP spans keep query parameters' names but never their values (a key can travel in one)."""

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from afo_common.telemetry import tracer_provider


async def test_a_query_string_credential_never_reaches_an_exported_span() -> None:
    exporter = InMemorySpanExporter()
    provider = tracer_provider("test-svc", exporter)
    app = FastAPI(telemetry={"tracer_provider": provider, "metrics": False, "logs": False,
                             "operation_spans": False})

    @app.get("/stream")
    async def stream(access_token: str = "") -> dict[str, bool]:
        return {"ok": bool(access_token)}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/stream", params={"access_token": "sk_secret_value", "limit": "5"})
    provider.force_flush()

    assert response.json() == {"ok": True}
    spans = exporter.get_finished_spans()
    assert spans, "the request was traced"
    recorded = [str(value) for span in spans for value in (span.attributes or {}).values()]
    assert not any("sk_secret_value" in value for value in recorded)
    queries = [span.attributes.get("url.query") for span in spans if span.attributes]
    assert "access_token=REDACTED&limit=REDACTED" in queries


async def test_without_an_exporter_nothing_is_recorded() -> None:
    provider = tracer_provider("test-svc", None)

    with provider.get_tracer("t").start_as_current_span("work") as span:
        assert not span.is_recording()
        assert span.get_span_context().trace_id != 0
