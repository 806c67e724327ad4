import time
from collections.abc import AsyncIterator

import pytest
from openai import DefaultAsyncHttpxClient

from afo_agent_runtime.adapters.openai_chat import (
    ChatEvent,
    ChatFinished,
    ChatProviderError,
    ContentDelta,
    OpenAIChatClient,
    ToolCall,
    http_client,
)
from afo_testkit.openai_server import Call, FakeOpenAI, Interrupted, Text, ToolCalls

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
