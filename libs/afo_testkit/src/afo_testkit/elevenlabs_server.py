"""A local stand-in for ElevenLabs' streaming text-to-speech endpoint over real HTTP:
``POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>`` with the ``xi-api-key`` header and a JSON
body ``{"text", "model_id", ...}``, answered with raw 16-bit little-endian mono PCM in chunks.

The speech is a 440 Hz tone lasting ``seconds_per_char`` per character of text, so a test can check the byte
count for the rate it asked for; it starts after ``first_byte_delay_s`` and comes in ``chunk_s`` pieces
``chunk_interval_s`` apart. Errors in ElevenLabs' shapes: 401 ``invalid_api_key``, 404 ``voice_not_found`` for a
voice not in ``voices``, 422 (FastAPI's validation list) for a missing text or an output format it does not
offer, and whatever ``faults`` queues for the next requests (a status with its detail, or a stream that stops
after some bytes). Every request is kept in ``requests``."""

from __future__ import annotations

import asyncio
import math
import struct
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from afo_testkit.local_server import LocalStandIn

PCM_FORMATS = {f"pcm_{rate}": rate for rate in (8000, 16000, 22050, 24000, 32000, 44100, 48000)}
# George, a premade voice every account has; ElevenLabs' API reference uses it in its examples.
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"


@dataclass(frozen=True)
class Failure:
    """An error answer: ``detail`` is ElevenLabs' ``{"status", "message"}``, or FastAPI's list for a 422."""

    status: int
    detail: dict[str, str] | list[dict[str, Any]] = field(default_factory=lambda: {
        "status": "something_went_wrong", "message": "We are sorry, something went wrong."})


@dataclass(frozen=True)
class Cut:
    """The stream stops without its end after ``after_bytes``, as when the server goes away."""

    after_bytes: int


@dataclass
class Received:
    voice_id: str
    output_format: str | None
    body: dict[str, Any]
    at: float
    sent_bytes: int = 0


def tone(seconds: float, rate: int) -> bytes:
    samples = round(seconds * rate)
    return struct.pack(f"<{samples}h", *(round(8000 * math.sin(2 * math.pi * 440 * i / rate))
                                         for i in range(samples)))


def _invalid(location: list[str], message: str, value: Any) -> JSONResponse:
    return JSONResponse({"detail": [{"type": "value_error", "loc": location, "msg": message, "input": value}]}, 422)


@dataclass
class FakeElevenLabs(LocalStandIn):
    api_key: str = "elevenlabs-test-key"
    voices: set[str] = field(default_factory=lambda: {DEFAULT_VOICE})
    seconds_per_char: float = 0.05
    first_byte_delay_s: float = 0.0
    chunk_s: float = 0.1
    chunk_interval_s: float = 0.0
    faults: list[Failure | Cut] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _serving: AbstractAsyncContextManager[int] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _stream(self, request: Request) -> Response:
        voice_id = request.path_params["voice_id"]
        output_format = request.query_params.get("output_format")
        try:
            body = await request.json()
        except ValueError:
            body = None
        received = Received(voice_id, output_format, body if isinstance(body, dict) else {}, time.monotonic())
        self.requests.append(received)
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, Failure):
            return JSONResponse({"detail": fault.detail}, fault.status)
        if request.headers.get("xi-api-key") != self.api_key:
            return JSONResponse({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, 401)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            return _invalid(["body", "text"], "Field required", body)
        rate = PCM_FORMATS.get(output_format or "")
        if rate is None:
            return _invalid(["query", "output_format"], "This stand-in speaks only pcm_* formats.", output_format)
        if voice_id not in self.voices:
            return JSONResponse({"detail": {"status": "voice_not_found",
                                            "message": f"A voice with the voice_id {voice_id} was not found."}}, 404)
        audio = tone(len(body["text"]) * self.seconds_per_char, rate)
        cut = fault.after_bytes if isinstance(fault, Cut) else None
        return StreamingResponse(self._chunks(received, audio, 2 * round(self.chunk_s * rate), cut),
                                 media_type="audio/pcm")

    async def _chunks(self, received: Received, audio: bytes, size: int, cut: int | None) -> AsyncIterator[bytes]:
        await asyncio.sleep(self.first_byte_delay_s)
        for start in range(0, len(audio), size):
            if cut is not None and start >= cut:
                raise ConnectionResetError("the stand-in cut the stream")
            if start:
                await asyncio.sleep(self.chunk_interval_s)
            yield audio[start:start + size]
            received.sent_bytes = start + size

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/text-to-speech/{voice_id}/stream", self._stream, methods=["POST"])])
