"""A local stand-in for Deepgram's live speech-to-text WebSocket (``wss://api.deepgram.com/v1/listen``),
speaking its documented protocol on 127.0.0.1.

The handshake: ``Authorization: Token <key>`` (anything else is refused with 401, the reason in the ``dg-error``
header and a JSON body ``{"err_code", "err_msg", "request_id"}``, as Deepgram answers a refused upgrade);
query parameters ``encoding=linear16`` with ``sample_rate`` and ``channels=1`` (other values: 400), ``model``,
``language``, ``interim_results``, ``punctuate``, ``smart_format`` and repeated ``keyterm`` (Nova-3 only) or
``keywords`` (not Nova-3), as documented. Then binary audio frames and the text control messages
``{"type": "Finalize"}``, ``{"type": "KeepAlive"}`` and ``{"type": "CloseStream"}``.

Answers, in Deepgram's JSON shape: interim ``Results`` (``is_final: false``, only with ``interim_results=true``)
every ``interim_every_s`` of audio; a final (``is_final: true``) every ``final_every_s`` of audio when set, as
Deepgram finalises long speech on its own; after ``finalize_delay_s``, the final of the audio still pending
with ``from_finalize: true`` for each Finalize; on CloseStream the pending final, a ``Metadata`` message, then
close 1000. A connection that sends nothing for ``idle_timeout_s`` is closed 1011 with Deepgram's NET-0001
reason. An unparsable text message gets an ``Error`` of variant ``SchemaError``.

What it "hears" is up to the test: ``recognise`` maps a final's audio to its words; by default each final takes
the next of ``transcripts`` (empty when none is left). ``faults`` scripts how the next connections misbehave.
Each connection is kept in ``connections``: its query, audio bytes, control messages and how it ended."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from afo_testkit.local_server import LocalStandIn

NET_0001 = ("Deepgram did not receive audio data or a text message within the timeout window. "
            "See https://dpgr.am/net0001")


@dataclass(frozen=True)
class Fault:
    """How one connection misbehaves once it has received ``after_bytes`` of audio: ``drop`` closes the TCP
    connection without a close frame, ``close`` sends close 1011 (Deepgram's NET-0000), ``garbage`` sends a
    text frame that is not JSON."""

    after_bytes: int
    kind: Literal["drop", "close", "garbage"]


@dataclass
class Connection:
    query: dict[str, list[str]]
    audio: bytearray = field(default_factory=bytearray)
    controls: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    closed: tuple[int, str] | None = None

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def controls_of(self, kind: str) -> list[dict[str, Any]]:
        return [c for c in self.controls if c.get("type") == kind]


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Dropped(Exception):
    """The handler returns without a close frame: uvicorn then closes the TCP connection."""


@dataclass
class _Stream:
    """One connection's position in its audio: where the last final ended and what interim was last sent."""

    ws: WebSocket
    record: Connection
    rate: int
    request_id: str
    fault: Fault | None
    final_start: int = 0
    interims_sent: int = 0

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / (2 * self.rate)


@dataclass
class FakeDeepgram(LocalStandIn):
    api_key: str = "deepgram-test-key"
    transcripts: list[str] = field(default_factory=list)
    recognise: Callable[[bytes], str] | None = None
    finalize_delay_s: float = 0.0
    final_every_s: float | None = None
    interim_every_s: float = 0.25
    idle_timeout_s: float = 10.0
    faults: list[Fault] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    port: int = 0
    _serving: AbstractAsyncContextManager[int] | None = None

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _words_of(self, audio: bytes, *, final: bool) -> str:
        """What the audio says; an interim peeks at the words a final will take."""
        if self.recognise is not None:
            return self.recognise(audio)
        if not self.transcripts:
            return ""
        return self.transcripts.pop(0) if final else self.transcripts[0]

    def _check(self, ws: WebSocket) -> int:
        """The sample rate of an acceptable upgrade; raises ``_Refused`` as Deepgram refuses one."""
        if ws.headers.get("authorization") != f"Token {self.api_key}":
            raise _Refused(401, "INVALID_AUTH", "Invalid credentials.")
        query = ws.query_params
        if query.get("encoding") != "linear16":
            raise _Refused(400, "Bad Request", "This stand-in only decodes encoding=linear16.")
        if query.get("channels", "1") != "1":
            raise _Refused(400, "Bad Request", "This stand-in only decodes one channel.")
        rate = query.get("sample_rate", "")
        if not rate.isdigit() or not 8000 <= int(rate) <= 48000:
            raise _Refused(400, "Bad Request", "sample_rate must be given for raw audio (linear16).")
        nova3 = query.get("model", "").startswith("nova-3")
        if query.getlist("keywords") and nova3:
            raise _Refused(400, "Bad Request", "Keywords are not supported for Nova-3 models, use keyterm.")
        if query.getlist("keyterm") and not nova3:
            raise _Refused(400, "Bad Request", "Keyterm prompting is only available for Nova-3 models.")
        return int(rate)

    def _results(self, stream: _Stream, end: int, *, is_final: bool, from_finalize: bool,
                 text: str) -> dict[str, Any]:
        start_s, duration_s = stream.seconds(stream.final_start), stream.seconds(end - stream.final_start)
        words = text.split()
        step = duration_s / max(1, len(words))
        return {
            "type": "Results", "channel_index": [0, 1], "duration": round(duration_s, 3), "start": round(start_s, 3),
            "is_final": is_final, "speech_final": from_finalize, "from_finalize": from_finalize,
            "channel": {"alternatives": [{
                "transcript": text, "confidence": 0.98,
                "words": [{"word": w.lower().strip(".,?!"), "start": round(start_s + i * step, 3),
                           "end": round(start_s + (i + 1) * step, 3), "confidence": 0.98, "punctuated_word": w}
                          for i, w in enumerate(words)]}]},
            "metadata": {"request_id": stream.request_id, "model_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "nova")),
                         "model_info": {"name": f"general-{stream.record.param('model')}", "version": "2024-11-01",
                                        "arch": str(stream.record.param("model"))}},
        }

    async def _send(self, stream: _Stream, message: dict[str, Any]) -> None:
        stream.record.sent.append(message)
        await stream.ws.send_text(json.dumps(message))

    async def _final(self, stream: _Stream, *, from_finalize: bool) -> None:
        end = len(stream.record.audio)
        pending = bytes(stream.record.audio[stream.final_start:end])
        text = self._words_of(pending, final=True) if pending else ""
        await self._send(stream, self._results(stream, end, is_final=True, from_finalize=from_finalize, text=text))
        stream.final_start, stream.interims_sent = end, 0

    async def _on_audio(self, stream: _Stream, audio: bytes) -> bool:
        """Takes one audio frame; False once the stream is over."""
        stream.record.audio += audio
        if stream.fault is not None and len(stream.record.audio) >= stream.fault.after_bytes:
            fault, stream.fault = stream.fault, None
            if fault.kind == "drop":
                raise _Dropped
            if fault.kind == "close":
                await self._close(stream, 1011, "NET-0000: The service has encountered an internal error.")
                return False
            await stream.ws.send_text("<html><body>502 Bad Gateway</body></html>")
        end = len(stream.record.audio)
        pending_s = stream.seconds(end - stream.final_start)
        if self.final_every_s is not None and pending_s >= self.final_every_s:
            await self._final(stream, from_finalize=False)
        elif stream.record.param("interim_results") == "true" and \
                pending_s >= (stream.interims_sent + 1) * self.interim_every_s:
            stream.interims_sent += 1
            words = self._words_of(bytes(stream.record.audio[stream.final_start:end]), final=False).split()
            await self._send(stream, self._results(stream, end, is_final=False, from_finalize=False,
                                                   text=" ".join(words[: stream.interims_sent])))
        return True

    async def _close(self, stream: _Stream, code: int, reason: str) -> None:
        stream.record.closed = (code, reason)
        await stream.ws.close(code, reason)

    async def _on_control(self, stream: _Stream, text: str) -> bool:
        """Handles one text message; False once the stream is over."""
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await self._send(stream, {"type": "Error", "variant": "SchemaError", "message": text,
                                      "description": "Could not parse the client message."})
            return True
        stream.record.controls.append(message)
        if kind == "Finalize":
            await asyncio.sleep(self.finalize_delay_s)
            await self._final(stream, from_finalize=True)
        elif kind == "CloseStream":
            if len(stream.record.audio) > stream.final_start:
                await self._final(stream, from_finalize=False)
            await self._send(stream, {
                "type": "Metadata", "transaction_key": "deprecated", "request_id": stream.request_id,
                "sha256": "0" * 64, "created": datetime.now(UTC).isoformat(),
                "duration": stream.seconds(len(stream.record.audio)), "channels": 1})
            await self._close(stream, 1000, "")
            return False
        return True

    async def _listen(self, ws: WebSocket) -> None:
        request_id = str(uuid.uuid4())
        try:
            rate = self._check(ws)
        except _Refused as refused:
            await ws.send_denial_response(JSONResponse(
                {"err_code": refused.code, "err_msg": refused.message, "request_id": request_id}, refused.status,
                headers={"dg-error": refused.message, "dg-request-id": request_id}))
            return
        record = Connection(query={k: ws.query_params.getlist(k) for k in ws.query_params})
        self.connections.append(record)
        stream = _Stream(ws, record, rate, request_id, self.faults.pop(0) if self.faults else None)
        await ws.accept(headers=[(b"dg-request-id", request_id.encode())])
        try:
            await self._serve(stream)
        except _Dropped:
            record.closed = (1006, "dropped")

    async def _serve(self, stream: _Stream) -> None:
        last_heard = time.monotonic()
        while True:
            try:
                message = await asyncio.wait_for(stream.ws.receive(),
                                                 last_heard + self.idle_timeout_s - time.monotonic())
            except TimeoutError:
                await self._close(stream, 1011, NET_0001)
                return
            last_heard = time.monotonic()
            if message["type"] == "websocket.disconnect":
                stream.record.closed = (message.get("code", 1005), message.get("reason") or "")
                return
            audio = message.get("bytes")
            if not await (self._on_audio(stream, audio) if audio is not None
                          else self._on_control(stream, message.get("text") or "")):
                return

    def app(self) -> Starlette:
        return Starlette(routes=[WebSocketRoute("/v1/listen", self._listen)])
