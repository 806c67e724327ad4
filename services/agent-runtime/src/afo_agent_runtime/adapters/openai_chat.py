"""Streaming chat completions with tool calling from any OpenAI-compatible endpoint, on the openai SDK.

The SDK sends the request, retries it before the response starts (connection errors, 408, 409, 429, 5xx;
honouring ``Retry-After`` and ``retry-after-ms``), parses the server-sent events and types the errors.
This module bounds how long a turn waits for a stream to start, turns chunks into the events the LLM
engine consumes (tool calls whole), and errors into ``ChatProviderError``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import openai
from openai import AsyncOpenAI, DefaultAsyncHttpxClient, omit
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionToolUnionParam
from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall
from opentelemetry.trace import Span

from afo_common.telemetry import answered, provider_span

# The SDK refuses to start without a key and, given none, falls back to OPENAI_API_KEY from this process's
# environment, which would send the operator's key to whatever endpoint a tenant configured. With no key of
# ours it gets this stand-in, and every request omits the Authorization header.
_NO_KEY = "no-key-configured"


@dataclass(frozen=True)
class ContentDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str


@dataclass(frozen=True)
class ChatFinished:
    finish_reason: str
    usage: dict[str, int] | None


ChatEvent = ContentDelta | ToolCall | ChatFinished


def assistant_tool_calls_message(content: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
    """The assistant turn that asked for `calls`, which must precede their results in the next request."""
    return {
        "role": "assistant",
        "content": content or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw_arguments}} for c in calls
        ],
    }


def tool_result_message(call: ToolCall, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call.id, "content": content}


class ChatProviderError(Exception):
    """The provider failed; `retryable` tells the caller whether trying again may help."""

    def __init__(self, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(message if status is None else f"{status}: {message}")
        self.message = message
        self.status = status
        self.retryable = retryable


def http_client(timeout_s: float = 30.0, connect_timeout_s: float = 5.0) -> DefaultAsyncHttpxClient:
    """One connection pool for every agent's endpoint. Redirects are not followed: requests go to the URL an
    admin configured, not wherever that URL points."""
    return DefaultAsyncHttpxClient(timeout=openai.Timeout(timeout_s, connect=connect_timeout_s),
                                   follow_redirects=False)


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def add(self, fragment: ChoiceDeltaToolCall) -> None:
        self.id = self.id or fragment.id or ""
        function = fragment.function
        if function is None:
            return
        self.name = self.name or function.name or ""
        arguments: Any = function.arguments
        if isinstance(arguments, dict):  # some OpenAI-compatible servers send an object, not its JSON
            arguments = json.dumps(arguments)
        if arguments:
            self.arguments.append(arguments)

    def complete(self, index: int) -> ToolCall:
        raw = "".join(self.arguments)
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            parsed = {}
        # The model may emit valid JSON that is not an object; callers only handle named arguments.
        arguments = parsed if isinstance(parsed, dict) else {}
        return ToolCall(id=self.id or f"call_{index}", name=self.name, arguments=arguments, raw_arguments=raw)


class OpenAIChatClient:
    """Retries only before the response starts: once deltas flow, a retry would repeat them."""

    def __init__(
        self,
        http: DefaultAsyncHttpxClient,
        *,
        base_url: str,
        api_key: str | None,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        max_wait_s: float = 60.0,
    ) -> None:
        self._base_url = base_url
        self._openai = AsyncOpenAI(base_url=base_url, api_key=api_key or _NO_KEY, http_client=http,
                                   max_retries=max_retries, timeout=timeout_s)
        self._headers: dict[str, str | openai.Omit] = {} if api_key else {"Authorization": omit}
        # The SDK honours a Retry-After of up to two minutes per retry; a lead should not wait that long for a
        # first word, and the turn's delivery is kept alive only so long: past this the turn is retried
        # later (NAK backoff) or answered by the embedded engine.
        self._max_wait_s = max_wait_s

    @asynccontextmanager
    async def _asking(self, span: Span) -> AsyncIterator[None]:
        """One request to the endpoint, within ``max_wait_s``; its failures as ChatProviderError, on ``span``."""
        try:
            async with asyncio.timeout(self._max_wait_s):
                yield
        except TimeoutError:
            span.set_attribute("error.type", "TimeoutError")  # not the ChatProviderError that reports it
            raise ChatProviderError(f"no response within {self._max_wait_s:g} s", status=None,
                                    retryable=True) from None
        except openai.OpenAIError as exc:
            raise _provider_error(exc, span) from exc

    async def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        temperature: float = 0.3,
    ) -> AsyncIterator[ChatEvent]:
        """Yields content deltas as they arrive, then each complete tool call, then ChatFinished.

        A failure after the first delta raises ChatProviderError without retrying.
        """
        # The span lasts the whole stream: the answer is only done when its last chunk is in.
        with provider_span("llm", "POST", self._base_url) as span:
            async with self._asking(span):
                chunks = await self._openai.chat.completions.create(
                    model=model,
                    # Built as the wire format's JSON, which the SDK's TypedDicts describe.
                    messages=cast(list[ChatCompletionMessageParam], messages),
                    tools=cast(list[ChatCompletionToolUnionParam], tools) if tools else omit,
                    temperature=temperature,
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_headers=self._headers,
                )
            answered(span, chunks.response.status_code)
            async with chunks:
                try:
                    async for event in _events(chunks):
                        yield event
                except openai.OpenAIError as exc:
                    raise _provider_error(exc, span) from exc
                except ValueError as exc:  # a data line that is not JSON
                    raise ChatProviderError(f"malformed stream chunk: {exc}", status=None,
                                            retryable=True) from exc

    async def complete_json(self, *, model: str, messages: list[dict[str, Any]], schema_name: str,
                            schema: dict[str, Any], temperature: float = 0.0) -> str | None:
        """One whole completion asked to follow ``schema`` (structured output); its text, or None when the
        model refused or said nothing. The caller validates the text: a model may not honour the schema."""
        with provider_span("llm", "POST", self._base_url) as span:
            async with self._asking(span):
                completion = await self._openai.chat.completions.create(
                    model=model,
                    messages=cast(list[ChatCompletionMessageParam], messages),
                    temperature=temperature,
                    response_format={"type": "json_schema",
                                     "json_schema": {"name": schema_name, "schema": schema, "strict": True}},
                    extra_headers=self._headers,
                )
            answered(span, 200)
        if not completion.choices:
            return None
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            return None
        return message.content or None


def _provider_error(exc: openai.OpenAIError, span: Span) -> ChatProviderError:
    """The failure as the engine sees it; the provider's status, when it answered one, goes on the call's span."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        answered(span, status)
        return ChatProviderError(_message(exc), status=status, retryable=status in (408, 429) or status >= 500)
    # A connection failure, a timeout, an error reported mid-stream: the next attempt may well succeed.
    return ChatProviderError(_message(exc), status=None, retryable=True)


def _message(exc: openai.OpenAIError) -> str:
    body = exc.body if isinstance(exc, openai.APIError) else None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    if isinstance(body, str) and body:
        return body[:500]
    return str(exc)


async def _events(chunks: AsyncIterator[ChatCompletionChunk]) -> AsyncIterator[ChatEvent]:
    # Parsed leniently by the SDK: a field a server left out is None, whatever the type says.
    pending: dict[int, _PendingCall] = {}
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    async for chunk in chunks:
        if chunk.usage is not None:
            usage = {k: v for k, v in chunk.usage.model_dump().items() if isinstance(v, int)}
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is not None:
                if delta.content:
                    yield ContentDelta(delta.content)
                for position, fragment in enumerate(delta.tool_calls or []):
                    index = fragment.index if fragment.index is not None else position
                    pending.setdefault(index, _PendingCall()).add(fragment)
            finish_reason = choice.finish_reason or finish_reason
    if finish_reason is None:
        raise ChatProviderError("stream ended before a finish_reason", status=None, retryable=True)
    for index in sorted(pending):
        yield pending[index].complete(index)
    yield ChatFinished(finish_reason=finish_reason, usage=usage)
