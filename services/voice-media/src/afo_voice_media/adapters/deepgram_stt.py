"""Deepgram live speech-to-text (``GET /v1/listen`` upgraded to a WebSocket) as the engine's ``SpeechToText``.

Spoken with the ``websockets`` package, not deepgram-sdk 7.17: the SDK's async client is built on
``websockets.legacy`` (deprecated since websockets 14, to be removed); it replaces the reason Deepgram gives for a
refused upgrade (the ``dg-error`` header: a wrong key, or a model or language the key cannot use — what the tenant
must fix) with a fixed sentence; and it validates every message into pydantic models, CPU on the path each call's
audio takes. The protocol is small and documented: query parameters, ``Authorization: Token <key>``, binary
audio frames up, JSON ``Results`` down, and three text messages up (``Finalize``, ``KeepAlive``, ``CloseStream``).

One session is one WebSocket for the whole call. The engine sends only the caller's speech, so the line is
silent between utterances, and Deepgram closes a connection that hears nothing for ~10 s (NET-0001): a
``KeepAlive`` goes out whenever nothing has been sent for ``keepalive_s``. At the end of a turn ``finish`` sends
``Finalize`` and waits for the result marked ``from_finalize``; the turn's words are every final transcript
since the previous ``finish``, including those Deepgram finalised on its own mid-utterance.

A connection that goes away costs the utterance it carried: the next ``send`` or ``finish`` raises
``SpeechError``; the utterance after that opens a new connection. One that goes away while the caller is
silent is replaced at the next utterance without an error."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from afo_common.telemetry import answered, provider_span
from afo_voice_media.domain.speech import SpeechError, Transcript

_FINALIZE = json.dumps({"type": "Finalize"})
_KEEP_ALIVE = json.dumps({"type": "KeepAlive"})
_CLOSE_STREAM = json.dumps({"type": "CloseStream"})


class DeepgramStt:
    """``keepalive_s``: Deepgram recommends a KeepAlive every 3 to 5 s of silence. ``finalize_timeout_s``: how long
    a turn waits for the words before the call goes on without them."""

    def __init__(self, api_key: str, base_url: str = "wss://api.deepgram.com", model: str = "nova-3", *,
                 keepalive_s: float = 4.0, finalize_timeout_s: float = 3.0, connect_timeout_s: float = 5.0) -> None:
        self.name = "deepgram"
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.keepalive_s = keepalive_s
        self.finalize_timeout_s = finalize_timeout_s
        self.connect_timeout_s = connect_timeout_s

    def listen_url(self, sample_rate: int, language: str, hints: Sequence[str]) -> str:
        # Nova-3 takes hints as key terms; older models as keywords, and each refuses the other's parameter.
        hint_parameter = "keyterm" if self.model.startswith("nova-3") else "keywords"
        terms = dict.fromkeys(h.strip() for h in hints)
        query = [("encoding", "linear16"), ("sample_rate", str(sample_rate)), ("channels", "1"),
                 ("model", self.model), ("language", language), ("interim_results", "false"),
                 ("punctuate", "true"), ("smart_format", "true"),
                 *((hint_parameter, term) for term in terms if term)]
        return f"{self.base_url}/v1/listen?{urlencode(query)}"

    async def connect(self, url: str) -> ClientConnection:
        # A span for the upgrade only: the stream then lives as long as the call, whose turns are traces of their own.
        with provider_span(self.name, "GET", url) as span:
            try:
                # No compression: deflating PCM saves little and costs CPU on every frame of every call.
                ws = await connect(url, additional_headers={"Authorization": f"Token {self.api_key}"},
                                   open_timeout=self.connect_timeout_s, close_timeout=1.0, compression=None)
            except InvalidStatus as exc:
                status = exc.response.status_code
                answered(span, status)
                raise SpeechError(f"Deepgram refused the connection ({status}): {_refusal(exc)}") from exc
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                raise SpeechError(f"Deepgram could not be reached: {exc!r}") from exc
            answered(span, 101)
            return ws

    async def open(self, sample_rate: int, language: str, hints: Sequence[str]) -> DeepgramSession:
        url = self.listen_url(sample_rate, language, hints)
        return DeepgramSession(self, url, await self.connect(url))


def _refusal(exc: InvalidStatus) -> str:
    """Deepgram's reason for refusing an upgrade: its ``dg-error`` header, else the JSON body's ``err_msg``."""
    if reason := exc.response.headers.get("dg-error"):
        return reason
    body = exc.response.body or b""
    try:
        return str(json.loads(body)["err_msg"])
    except (ValueError, TypeError, KeyError):
        return body.decode(errors="replace")[:200] or f"HTTP {exc.response.status_code}"


class _Unreadable(Exception):
    """Deepgram sent something that is not its protocol, or an ``Error`` message."""


class DeepgramSession:
    def __init__(self, stt: DeepgramStt, url: str, ws: ClientConnection) -> None:
        self._stt, self._url = stt, url
        self._finals: list[str] = []
        self._finalized: asyncio.Future[float] | None = None
        # Why the connection is gone (None while it is up), and why the current utterance is lost.
        self._failure: SpeechError | None = None
        self._lost: SpeechError | None = None
        self._pending_audio = False
        self._closed = False
        self._attach(ws)

    def _attach(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._failure = None
        self._last_sent = time.monotonic()
        self._tasks = [asyncio.create_task(self._read(ws)), asyncio.create_task(self._keep_alive(ws))]

    async def _detach(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._ws.close()

    def _fail(self, ws: ClientConnection, reason: str) -> SpeechError:
        """Records why ``ws`` is done, the first reason only; returns the failure the session now reports."""
        if ws is self._ws and self._failure is None:
            self._failure = SpeechError(reason)
            if self._finalized is not None and not self._finalized.done():
                self._finalized.set_exception(self._failure)
        return self._failure or SpeechError(reason)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    raise _Unreadable("a binary message")
                self._on_message(json.loads(message))
        except ConnectionClosed as exc:
            self._fail(ws, f"Deepgram closed the stream: {exc}")
        except (ValueError, LookupError, TypeError, AttributeError, _Unreadable) as exc:
            self._fail(ws, f"Deepgram answered something unreadable: {exc!r}")
            await ws.close(1002, "unreadable message")
        else:
            self._fail(ws, f"Deepgram closed the stream: {ws.close_code} {ws.close_reason or ''}".rstrip())

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "Results" and message.get("is_final"):
            if words := message["channel"]["alternatives"][0]["transcript"]:
                self._finals.append(str(words))
            if message.get("from_finalize") and self._finalized is not None and not self._finalized.done():
                self._finalized.set_result(time.monotonic())
        elif kind == "Error":
            raise _Unreadable(f"Deepgram error {message.get('variant')}: {message.get('description')}")
        # Interim Results, Metadata, SpeechStarted and UtteranceEnd tell the engine nothing it uses.

    async def _keep_alive(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self._last_sent + self._stt.keepalive_s - time.monotonic())
            if time.monotonic() - self._last_sent >= self._stt.keepalive_s:
                try:
                    await ws.send(_KEEP_ALIVE)
                except ConnectionClosed:
                    return  # the reader reports it
                self._last_sent = time.monotonic()

    async def _connection_for_audio(self) -> ClientConnection:
        if self._closed:
            raise SpeechError("the Deepgram session is closed")
        if self._lost is not None:
            raise self._lost
        if self._failure is not None:
            if self._pending_audio:
                self._lost = self._failure
                raise self._lost
            await self._detach()
            try:
                self._attach(await self._stt.connect(self._url))
            except SpeechError as exc:
                self._lost = exc
                raise
        return self._ws

    async def send(self, pcm: bytes) -> None:
        ws = await self._connection_for_audio()
        try:
            await ws.send(pcm)
        except ConnectionClosed as exc:
            self._lost = self._fail(ws, f"Deepgram closed the stream: {exc}")
            raise self._lost from exc
        self._pending_audio = True
        self._last_sent = time.monotonic()

    async def finish(self) -> Transcript:
        try:
            if lost := self._lost or (self._failure if self._pending_audio else None):
                raise lost
            if not self._pending_audio:
                return Transcript("")
            started = time.monotonic()
            provider_s = await self._finalize() - started
            return Transcript(" ".join(self._finals), provider_s=provider_s)
        finally:
            self._finals = []
            self._pending_audio = False
            self._lost = None

    async def _finalize(self) -> float:
        """When Deepgram answered ``Finalize``."""
        ws = self._ws
        finalized: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._finalized = finalized
        try:
            await ws.send(_FINALIZE)
            self._last_sent = time.monotonic()
            async with asyncio.timeout(self._stt.finalize_timeout_s):
                return await finalized
        except ConnectionClosed as exc:
            raise self._fail(ws, f"Deepgram closed the stream: {exc}") from exc
        except TimeoutError:
            # A late answer would be taken for the next utterance's: this connection is done.
            failure = self._fail(ws, f"Deepgram did not finalise within {self._stt.finalize_timeout_s} s")
            await ws.close()
            raise failure from None
        finally:
            self._finalized = None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._failure is None:
            try:
                await self._ws.send(_CLOSE_STREAM)
            except ConnectionClosed:
                pass
            else:
                # Deepgram answers with its last results and Metadata, then closes from its side.
                await asyncio.wait(self._tasks[:1], timeout=1.0)
        await self._detach()
