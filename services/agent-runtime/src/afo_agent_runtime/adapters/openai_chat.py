"""Streaming client for any OpenAI-compatible `/chat/completions` endpoint, with tool calling."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

_MAX_RETRY_DELAY_S = 10.0


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


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

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
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str | None,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        backoff_base_s: float = 0.5,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Accept": "text/event-stream"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout = httpx.Timeout(timeout_s)
        self._max_retries = max_retries
        self._backoff_base_s = backoff_base_s

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
        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = tools
        response = await self._open(body)
        try:
            async for event in _events(response):
                yield event
        except httpx.RequestError as exc:
            raise ChatProviderError(f"stream interrupted: {exc!r}", status=None, retryable=True) from exc
        finally:
            await response.aclose()

    async def _open(self, body: dict[str, Any]) -> httpx.Response:
        attempt = 0
        while True:
            delay: float | None = None
            try:
                request = self._http.build_request(
                    "POST", self._url, json=body, headers=self._headers, timeout=self._timeout
                )
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                error = ChatProviderError(f"request failed: {exc!r}", status=None, retryable=True)
            else:
                if response.status_code < 400:
                    return response
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                error = _error_from(response)
                delay = _retry_after(response)
            if not error.retryable or attempt >= self._max_retries:
                raise error
            await asyncio.sleep(delay if delay is not None else self._backoff(attempt))
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        # Jitter keeps many conversations that hit the same rate limit from retrying in lockstep.
        ceiling = min(_MAX_RETRY_DELAY_S, self._backoff_base_s * 2.0**attempt)
        return ceiling * random.uniform(0.5, 1.0)


def _error_from(response: httpx.Response) -> ChatProviderError:
    status = response.status_code
    retryable = status in (408, 429) or status >= 500
    return ChatProviderError(_provider_message(response), status=status, retryable=retryable)


def _provider_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return response.text[:500] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    # Some OpenAI-compatible gateways send the finer-grained header alongside or instead of Retry-After.
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP-date; exponential backoff is a fine substitute
        return min(max(seconds, 0.0), _MAX_RETRY_DELAY_S)
    return None


async def _sse_data(response: httpx.Response) -> AsyncIterator[str]:
    """The `data` of each server-sent event; comments and other fields are dropped."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield "\n".join(data)


async def _events(response: httpx.Response) -> AsyncIterator[ChatEvent]:
    pending: dict[int, _PendingCall] = {}
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    async for data in _sse_data(response):
        if data.strip() == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ChatProviderError(f"malformed stream chunk: {data[:200]}", status=None, retryable=True) from exc
        if not isinstance(chunk, dict):
            continue
        if "error" in chunk:
            # OpenAI-compatible servers report failures mid-stream as an error object in a data line.
            error = chunk["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise ChatProviderError(str(message), status=None, retryable=True)
        if chunk.get("usage"):
            usage = {k: v for k, v in chunk["usage"].items() if isinstance(v, int)}
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                yield ContentDelta(delta["content"])
            for position, fragment in enumerate(delta.get("tool_calls") or []):
                call = pending.setdefault(fragment.get("index", position), _PendingCall())
                call.id = call.id or fragment.get("id") or ""
                function = fragment.get("function") or {}
                call.name = call.name or function.get("name") or ""
                arguments = function.get("arguments")
                if isinstance(arguments, dict):
                    arguments = json.dumps(arguments)
                if arguments:
                    call.arguments.append(arguments)
            finish_reason = choice.get("finish_reason") or finish_reason
    if finish_reason is None:
        raise ChatProviderError("stream ended before a finish_reason", status=None, retryable=True)
    for index in sorted(pending):
        yield pending[index].complete(index)
    yield ChatFinished(finish_reason=finish_reason, usage=usage)
