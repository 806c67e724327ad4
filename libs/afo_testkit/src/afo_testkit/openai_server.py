"""A local stand-in for the OpenAI Chat Completions and Embeddings APIs, speaking their wire format over real HTTP.

Tests point an OpenAI-compatible client at `FakeOpenAI.base_url`; e2e tests run it as a process:
`python -m afo_testkit.openai_server --port 8099 --script turns.json [--api-key KEY]`, where the
file holds a JSON list of turns: `{"text": "..."}`, `{"tool_calls": [{"name": "...", "arguments":
{...}}]}` or `{"error": 429, "retry_after": 1, "times": 2}`.

`POST /v1/embeddings` answers every input with `hashed_embedding(text, dimension)`: deterministic, unit
length, different for different texts; scripted failures (`fail_next`) and the API key apply to it too.
`GET /v1/models` lists one model (the API key applies): what a credentials check calls.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from afo_testkit.local_server import LocalStandIn


@dataclass(frozen=True)
class Text:
    """An assistant message streamed as one delta per word, so clients see several deltas."""

    text: str


@dataclass(frozen=True)
class Call:
    """A tool call; `arguments` as a string lets a test send JSON the model got wrong."""

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class ToolCalls:
    """Tool calls, optionally preceded by text streamed in the same message (some models do this)."""

    calls: Sequence[Call]
    text: str = ""


@dataclass(frozen=True)
class Failure:
    """Answer the next `times` requests with this HTTP error instead of consuming a reply."""

    status: int
    message: str = "The server had an error while processing your request."
    retry_after: int | None = None
    times: int = 1


@dataclass(frozen=True)
class Interrupted:
    """Streams `text`, then an error object in a data line: how OpenAI-compatible servers report a failure
    once the response has started."""

    text: str
    message: str = "The model stopped unexpectedly."


Turn = Text | ToolCalls | Failure | Interrupted
Script = Sequence[Turn] | Callable[[dict[str, Any]], Turn]

_ERROR_TYPES = {401: ("invalid_request_error", "invalid_api_key"), 429: ("requests", "rate_limit_exceeded")}


def error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def hashed_embedding(text: str, dimension: int) -> list[float]:
    """A unit vector drawn from the SHA-256 of the text: the same text always gets the same vector."""
    raw = b"".join(hashlib.sha256(f"{text}\x00{block}".encode()).digest() for block in range(-(-dimension // 8)))
    values = [(v / 2**31) - 1.0 for v in struct.unpack(f"<{dimension}I", raw[: 4 * dimension])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


@dataclass
class _Completion:
    """One scripted reply rendered either as a whole completion or as OpenAI's chunk sequence."""

    model: str
    turn: Text | ToolCalls
    prompt_tokens: int
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if isinstance(self.turn, ToolCalls) else "stop"

    def tool_calls(self) -> list[tuple[str, Call]]:
        calls = self.turn.calls if isinstance(self.turn, ToolCalls) else []
        return [(call.id or f"call_{uuid.uuid4().hex[:24]}", call) for call in calls]

    def usage(self, completion_tokens: int) -> dict[str, int]:
        total = self.prompt_tokens + completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total,
        }

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.turn.text or None, "refusal": None}
        if isinstance(self.turn, ToolCalls):
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                for cid, c in self.tool_calls()
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
        return self._envelope("chat.completion", [choice], usage=self.usage(len(str(message)) // 4))

    def chunks(self, include_usage: bool) -> list[dict[str, Any]]:
        # OpenAI opens a tool-call-only message with null content, a text message with "".
        silent = isinstance(self.turn, ToolCalls) and not self.turn.text
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None if silent else "", "refusal": None}]
        deltas += [{"content": word} for word in re.findall(r"\s*\S+\s*", self.turn.text)]
        for index, (cid, call) in enumerate(self.tool_calls()):
            head: dict[str, Any] = {"index": index, "id": cid, "type": "function"}
            deltas.append({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]})
            deltas += [
                {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                for piece in _split(call.arguments_json, 3)
            ]
        choices: list[dict[str, Any]] = [
            {"index": 0, "delta": d, "logprobs": None, "finish_reason": None} for d in deltas
        ]
        choices.append({"index": 0, "delta": {}, "logprobs": None, "finish_reason": self.finish_reason})
        extra: dict[str, Any] = {"usage": None} if include_usage else {}
        chunks = [self._envelope("chat.completion.chunk", [choice], **extra) for choice in choices]
        if include_usage:
            chunks.append(self._envelope("chat.completion.chunk", [], usage=self.usage(len(deltas))))
        return chunks

    def _envelope(self, obj: str, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_afo_fake",
            "choices": choices,
            **extra,
        }


class FakeOpenAI(LocalStandIn):
    """Serves scripted turns in order (or as chosen by a callable) and records every request body."""

    def __init__(self, script: Script, *, api_key: str | tuple[str, ...] | None = None,
                 keepalive_comments: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each request
        self._script = script
        self._position = 0
        # The keys it accepts (every other Authorization is a 401), or None for any.
        self._api_keys = (api_key,) if isinstance(api_key, str) else api_key
        self._keepalive = keepalive_comments
        # Seconds before the first byte of each answer (a slow model, a busy provider), or a function of
        # the request body that says how long.
        self.delay_s: float | Callable[[dict[str, Any]], float] = 0.0
        self._failures: list[Failure] = []
        # Embeddings: the length of every vector (unless a request asks for `dimensions`), and whether the
        # rows come back in reverse order (the wire format orders by `index`, not by position).
        self.embedding_dimension = 8
        self.embeddings_reversed = False
        self.embedding_requests: list[dict[str, Any]] = []
        self._serving: AbstractAsyncContextManager[int] | None = None
        self.port = 0
        self._app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    def app(self) -> Starlette:
        return self._app

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, times: int, status: int, *, retry_after: int | None = None, message: str = "") -> None:
        self._failures.append(Failure(status, message or f"Scripted failure {status}", retry_after, times))

    def _next_turn(self, body: dict[str, Any]) -> Turn:
        if callable(self._script):
            return self._script(body)
        if self._position >= len(self._script):
            return Failure(500, f"FakeOpenAI script exhausted after {self._position} turns")
        turn = self._script[self._position]
        self._position += 1
        return turn

    def _refused(self, request: Request) -> Response | None:
        accepted = self._api_keys
        if accepted is not None and request.headers.get("authorization") not in {f"Bearer {k}" for k in accepted}:
            return JSONResponse(error_body(401, "Incorrect API key provided."), status_code=401)
        return None

    def _failure(self, turn: Failure) -> Response:
        if turn.times > 1:
            self._failures.insert(0, replace(turn, times=turn.times - 1))
        headers = {"Retry-After": str(turn.retry_after)} if turn.retry_after is not None else None
        return JSONResponse(error_body(turn.status, turn.message), turn.status, headers=headers)

    async def _completions(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("authorization"))
        if refused := self._refused(request):
            return refused
        turn = self._failures.pop(0) if self._failures else self._next_turn(body)
        if delay := (self.delay_s(body) if callable(self.delay_s) else self.delay_s):
            await asyncio.sleep(delay)
        if isinstance(turn, Failure):
            return self._failure(turn)
        if isinstance(turn, Interrupted):
            started = _Completion(str(body.get("model", "")), Text(turn.text), 0).chunks(include_usage=False)[:-1]
            failure = error_body(500, turn.message)
            return StreamingResponse(self._sse([*started, failure], done=False), media_type="text/event-stream")
        completion = _Completion(str(body.get("model", "")), turn, len(json.dumps(body["messages"])) // 4)
        if not body.get("stream"):
            return JSONResponse(completion.whole())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(self._sse(completion.chunks(include_usage)), media_type="text/event-stream")

    async def _embeddings(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.embedding_requests.append(body)
        self.authorizations.append(request.headers.get("authorization"))
        if refused := self._refused(request):
            return refused
        if self._failures:
            return self._failure(self._failures.pop(0))
        inputs = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
        dimension = int(body.get("dimensions") or self.embedding_dimension)
        rows: list[dict[str, Any]] = []
        for index, text in enumerate(inputs):
            vector = hashed_embedding(str(text), dimension)
            encoded: list[float] | str = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dimension}f", *vector)).decode()
            rows.append({"object": "embedding", "index": index, "embedding": encoded})
        if self.embeddings_reversed:
            rows.reverse()
        tokens = sum(len(str(text).split()) for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": rows, "model": str(body.get("model", "")), "usage": usage})

    async def _models(self, request: Request) -> Response:
        """``GET /v1/models``: what a credentials check asks; the API key applies."""
        self.authorizations.append(request.headers.get("authorization"))
        if refused := self._refused(request):
            return refused
        return JSONResponse({"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 0,
                                                         "owned_by": "afo-testkit"}]})

    async def _sse(self, chunks: list[dict[str, Any]], *, done: bool = True) -> AsyncIterator[str]:
        for chunk in chunks:
            if self._keepalive:
                yield ": keep-alive\n\n"
            yield f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n"
            await asyncio.sleep(0)
        if done:
            yield "data: [DONE]\n\n"


def turn_from_json(raw: dict[str, Any]) -> Turn:
    if "error" in raw:
        message = str(raw.get("message", "Scripted failure"))
        return Failure(int(raw["error"]), message, raw.get("retry_after"), int(raw.get("times", 1)))
    if "tool_calls" in raw:
        calls = [Call(c["name"], c.get("arguments", {}), c.get("id")) for c in raw["tool_calls"]]
        return ToolCalls(calls, str(raw.get("text", "")))
    return Text(str(raw["text"]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--script", type=Path, required=True)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--embedding-dimension", type=int, default=8)
    args = parser.parse_args(argv)
    turns = [turn_from_json(raw) for raw in json.loads(args.script.read_text())]
    fake = FakeOpenAI(turns, api_key=args.api_key)
    fake.embedding_dimension = args.embedding_dimension
    uvicorn.run(fake.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
