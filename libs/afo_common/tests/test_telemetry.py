"""HTTP spans keep query parameters' names but never their values (a key can travel in one); a provider call is a
client span of the work that made it, with the provider, host and status and nothing that can carry a secret."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from afo_common import telemetry
from afo_common.provider_http import ProviderError, ProviderHttp, RetryPolicy
from afo_common.telemetry import tracer_provider
from afo_testkit.spans import exported as exported


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


async def test_each_try_of_a_provider_call_is_a_client_span_of_the_work_that_made_it(
        exported: InMemorySpanExporter) -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json={"id": "c1"})])
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    http = ProviderHttp("hubspot", "https://api.hubapi.example", secret="pat-secret-4242",
                        headers={"Authorization": "Bearer pat-secret-4242"}, transport=httpx.MockTransport(handle),
                        policy=RetryPolicy(attempts=2, initial_s=0.0, jitter_s=0.0))
    with telemetry.span_from(None, "consume lead.qualified") as work:
        created = await http.request("POST", "/crm/v3/objects/contacts/dana%40northwind.example",
                                     params={"hapikey": "pat-secret-4242"}, json={"email": "dana@northwind.example"})
    await http.aclose()

    assert created == {"id": "c1"} and len(seen) == 2
    failed, succeeded = [s for s in exported.get_finished_spans() if s.kind is SpanKind.CLIENT]
    for span in (failed, succeeded):
        assert span.name == "POST hubspot"
        assert span.parent is not None and span.parent.span_id == work.get_span_context().span_id
        assert span.attributes is not None
        assert (span.attributes["afo.provider"], span.attributes["server.address"]) == ("hubspot", "api.hubapi.example")
        recorded = " ".join(str(value) for value in span.attributes.values())
        assert "pat-secret-4242" not in recorded and "dana" not in recorded and "contacts" not in recorded
    assert failed.attributes is not None and failed.attributes["http.response.status_code"] == 503
    assert failed.status.status_code is StatusCode.ERROR
    assert succeeded.attributes is not None and succeeded.attributes["http.response.status_code"] == 200
    assert succeeded.status.status_code is StatusCode.UNSET


async def test_a_provider_that_cannot_be_reached_is_an_error_span_naming_the_failure_not_the_url(
        exported: InMemorySpanExporter) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    http = ProviderHttp("twilio", "https://api.twilio.example", secret="token-77",
                        transport=httpx.MockTransport(refuse), policy=RetryPolicy(attempts=1))
    with pytest.raises(ProviderError):
        await http.request("GET", "/Accounts/AC1/Calls.json", params={"To": "+14155550142"})
    await http.aclose()

    [span] = exported.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == "ConnectError"
    assert "http.response.status_code" not in span.attributes
    assert not span.events  # no exception event: its message quotes the URL, the lead's number in its query


async def test_a_cancelled_provider_call_is_named_so_but_is_no_error(exported: InMemorySpanExporter) -> None:
    started = asyncio.Event()

    async def call() -> None:
        with telemetry.provider_span("elevenlabs", "POST", "https://api.elevenlabs.example/v1/text-to-speech"):
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    [span] = exported.get_finished_spans()
    assert span.attributes is not None and span.attributes["error.type"] == "CancelledError"
    assert span.status.status_code is StatusCode.UNSET


async def test_a_provider_call_cut_by_its_callers_deadline_is_a_timeout(exported: InMemorySpanExporter) -> None:
    deadline = asyncio.get_running_loop().time() + 0.05
    with pytest.raises(TimeoutError):
        async with asyncio.timeout_at(deadline):
            with telemetry.provider_span("webhook", "POST", "https://hooks.example.com/in", deadline):
                await asyncio.sleep(10)

    [span] = exported.get_finished_spans()
    assert span.attributes is not None and span.attributes["error.type"] == "TimeoutError"
    assert span.status.status_code is StatusCode.ERROR
