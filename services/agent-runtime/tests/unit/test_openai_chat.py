import time
from collections.abc import AsyncIterator

import pytest
from openai import DefaultAsyncHttpxClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind, StatusCode

from afo_agent_runtime.adapters.openai_chat import (
    ChatEvent,
    ChatFinished,
    ChatProviderError,
    ContentDelta,
    OpenAIChatClient,
    ToolCall,
    http_client,
)
from afo_common import telemetry
from afo_testkit.openai_server import Call, FakeOpenAI, Interrupted, Text, ToolCalls
from afo_testkit.spans import exported as exported

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
async def http() -> AsyncIterator[DefaultAsyncHttpxClient]:
    async with http_client() as client:
        yield client


def client_for(fake: FakeOpenAI, http: DefaultAsyncHttpxClient, *, api_key: str | None = "sk-test") -> OpenAIChatClient:
    return OpenAIChatClient(http, base_url=fake.base_url, api_key=api_key)


async def collect(client: OpenAIChatClient) -> list[ChatEvent]:
    return [event async for event in client.stream(model="gpt-test", messages=MESSAGES)]


async def test_content_arrives_as_several_deltas_then_finishes_with_usage(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([Text("Hello there, how can I help?")], keepalive_comments=True) as fake:
        events = await collect(client_for(fake, http))

    deltas = [e.text for e in events if isinstance(e, ContentDelta)]
    assert len(deltas) > 3
    assert "".join(deltas) == "Hello there, how can I help?"
    finished = events[-1]
    assert isinstance(finished, ChatFinished)
    assert finished.finish_reason == "stop"
    assert finished.usage is not None and finished.usage["total_tokens"] > 0
    assert fake.requests[0]["stream"] is True
    assert fake.requests[0]["messages"] == MESSAGES


async def test_tool_call_arguments_split_across_chunks_are_reassembled(http: DefaultAsyncHttpxClient) -> None:
    calls = [
        Call("update_lead", {"fields": {"email": "ana@example.com", "company": "Acme"}}, id="call_a"),
        Call("handoff", {"reason": "wants a human"}, id="call_b"),
    ]
    tools = [{"type": "function", "function": {"name": "handoff", "parameters": {"type": "object"}}}]
    async with FakeOpenAI([ToolCalls(calls)]) as fake:
        client = client_for(fake, http)
        events = [e async for e in client.stream(model="m", messages=MESSAGES, tools=tools)]

    assert events[:2] == [
        ToolCall(
            id="call_a",
            name="update_lead",
            arguments={"fields": {"email": "ana@example.com", "company": "Acme"}},
            raw_arguments='{"fields": {"email": "ana@example.com", "company": "Acme"}}',
        ),
        ToolCall(
            id="call_b",
            name="handoff",
            arguments={"reason": "wants a human"},
            raw_arguments='{"reason": "wants a human"}',
        ),
    ]
    assert isinstance(events[2], ChatFinished) and events[2].finish_reason == "tool_calls"
    assert fake.requests[0]["tools"] == tools


async def test_invalid_tool_json_gives_empty_arguments_and_keeps_the_raw_text(
    http: DefaultAsyncHttpxClient,
) -> None:
    async with FakeOpenAI([ToolCalls([Call("handoff", '{"reason": "cut off')])]) as fake:
        events = await collect(client_for(fake, http))

    call = events[0]
    assert isinstance(call, ToolCall)
    assert call.arguments == {}
    assert call.raw_arguments == '{"reason": "cut off'


async def test_rate_limit_waits_for_retry_after_then_succeeds(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([Text("Back again")]) as fake:
        fake.fail_next(1, 429, retry_after=1, message="Rate limit reached for requests")
        started = time.monotonic()
        events = await collect(client_for(fake, http))
        elapsed = time.monotonic() - started

    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == "Back again"
    assert elapsed >= 0.9
    assert len(fake.requests) == 2


async def test_server_errors_exhaust_retries_as_a_retryable_error(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([Text("never")]) as fake:
        fake.fail_next(5, 500, message="The server had an error")
        with pytest.raises(ChatProviderError) as caught:
            await collect(client_for(fake, http))

    assert caught.value.status == 500
    assert caught.value.retryable is True
    assert caught.value.message == "The server had an error"
    assert len(fake.requests) == 3


async def test_wrong_key_is_not_retried_and_carries_the_provider_message(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([Text("never")], api_key="sk-right") as fake:
        with pytest.raises(ChatProviderError) as caught:
            await collect(client_for(fake, http, api_key="sk-wrong"))

    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert caught.value.message == "Incorrect API key provided."
    assert len(fake.requests) == 1


async def test_unreachable_server_is_a_retryable_error(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([]) as fake:
        base_url = fake.base_url
    client = OpenAIChatClient(http, base_url=base_url, api_key=None, max_retries=1)

    with pytest.raises(ChatProviderError) as caught:
        await collect(client)

    assert caught.value.status is None
    assert caught.value.retryable is True


async def test_the_key_is_sent_as_a_bearer_token(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([Text("Hi")], api_key="sk-test") as fake:
        await collect(client_for(fake, http))

    assert fake.authorizations == ["Bearer sk-test"]


async def test_without_a_key_no_authorization_is_sent_not_even_the_environments(
    http: DefaultAsyncHttpxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operators-own")
    async with FakeOpenAI([Text("Hi")]) as fake:
        events = await collect(client_for(fake, http, api_key=None))

    assert fake.authorizations == [None]
    assert isinstance(events[-1], ChatFinished)


async def test_a_failure_after_the_first_delta_is_raised_not_retried(http: DefaultAsyncHttpxClient) -> None:
    received: list[ChatEvent] = []
    async with FakeOpenAI([Interrupted("Half a", message="upstream overloaded"), Text("never")]) as fake:
        with pytest.raises(ChatProviderError) as caught:
            async for event in client_for(fake, http).stream(model="gpt-test", messages=MESSAGES):
                received.append(event)

    assert "".join(e.text for e in received if isinstance(e, ContentDelta)) == "Half a"
    assert caught.value.retryable is True and caught.value.status is None
    assert caught.value.message == "upstream overloaded"
    assert len(fake.requests) == 1


async def test_a_retry_after_longer_than_the_wait_allowed_fails_fast_as_retryable(
    http: DefaultAsyncHttpxClient,
) -> None:
    async with FakeOpenAI([Text("too late")]) as fake:
        fake.fail_next(1, 429, retry_after=30)
        client = OpenAIChatClient(http, base_url=fake.base_url, api_key="sk-test", max_wait_s=0.5)
        started = time.monotonic()
        with pytest.raises(ChatProviderError) as caught:
            await collect(client)
        elapsed = time.monotonic() - started

    assert caught.value.retryable is True
    assert elapsed < 5
    assert len(fake.requests) == 1


def the_llm_call(exported: InMemorySpanExporter, work: Span) -> ReadableSpan:
    """The one client span, a child of ``work``, holding the provider, method, host and status and nothing else:
    not the path (``/v1/chat/completions``), not the key, not a header."""
    [call] = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert call.name == "POST llm"
    assert call.parent is not None and call.parent.span_id == work.get_span_context().span_id
    assert call.context is not None and call.context.trace_id == work.get_span_context().trace_id
    attributes = dict(call.attributes or {})
    assert set(attributes) - {"error.type"} == {
        "afo.provider", "http.request.method", "server.address", "http.response.status_code"}
    assert (attributes["afo.provider"], attributes["server.address"]) == ("llm", "127.0.0.1")
    recorded = " ".join(str(value) for value in attributes.values())
    for secret in ("sk-test", "Bearer", "/v1", "chat", "completions"):
        assert secret not in recorded
    return call


async def test_a_stream_is_one_client_span_that_lasts_until_its_last_chunk(
        http: DefaultAsyncHttpxClient, exported: InMemorySpanExporter) -> None:
    open_while_streaming: list[bool] = []
    async with FakeOpenAI([Text("Hello there, how can I help?")], api_key="sk-test") as fake:
        with telemetry.span_from(None, "consume message.received") as work:
            async for _ in client_for(fake, http).stream(model="gpt-test", messages=MESSAGES):
                open_while_streaming.append(not exported.get_finished_spans())

    assert len(open_while_streaming) > 3 and all(open_while_streaming)
    call = the_llm_call(exported, work)
    assert call.attributes is not None and call.attributes["http.response.status_code"] == 200
    assert call.status.status_code is StatusCode.UNSET


async def test_a_refused_stream_is_an_error_span_with_the_providers_status(
        http: DefaultAsyncHttpxClient, exported: InMemorySpanExporter) -> None:
    async with FakeOpenAI([Text("never")], api_key="sk-right") as fake:
        with telemetry.span_from(None, "consume message.received") as work, pytest.raises(ChatProviderError):
            await collect(client_for(fake, http, api_key="sk-test"))

    call = the_llm_call(exported, work)
    assert call.attributes is not None
    assert (call.attributes["http.response.status_code"], call.attributes["error.type"]) == (401, "401")
    assert call.status.status_code is StatusCode.ERROR


async def test_a_stream_that_fails_after_it_started_is_an_error_span_of_a_200(
        http: DefaultAsyncHttpxClient, exported: InMemorySpanExporter) -> None:
    async with FakeOpenAI([Interrupted("Half a", message="upstream overloaded")]) as fake:
        with telemetry.span_from(None, "consume message.received") as work, pytest.raises(ChatProviderError):
            await collect(client_for(fake, http))

    call = the_llm_call(exported, work)
    assert call.attributes is not None
    assert (call.attributes["http.response.status_code"], call.attributes["error.type"]) == (200, "APIError")
    assert call.status.status_code is StatusCode.ERROR


async def test_a_structured_completion_is_one_client_span_and_a_server_error_marks_it_failed(
        http: DefaultAsyncHttpxClient, exported: InMemorySpanExporter) -> None:
    schema = {"type": "object", "properties": {"intent": {"type": "string"}}, "required": ["intent"]}
    async with FakeOpenAI([Text('{"intent": "book"}')], api_key="sk-test") as fake:
        client = OpenAIChatClient(http, base_url=fake.base_url, api_key="sk-test", max_retries=0)
        with telemetry.span_from(None, "consume message.received") as work:
            text = await client.complete_json(model="m", messages=MESSAGES, schema_name="intent", schema=schema)
        succeeded = the_llm_call(exported, work)
        exported.clear()
        fake.fail_next(1, 503)
        with telemetry.span_from(None, "consume message.received") as work, pytest.raises(ChatProviderError):
            await client.complete_json(model="m", messages=MESSAGES, schema_name="intent", schema=schema)
        failed = the_llm_call(exported, work)

    assert text == '{"intent": "book"}'
    assert succeeded.attributes is not None and succeeded.attributes["http.response.status_code"] == 200
    assert succeeded.status.status_code is StatusCode.UNSET
    assert failed.attributes is not None and failed.attributes["http.response.status_code"] == 503
    assert failed.status.status_code is StatusCode.ERROR
