"""``WS /twilio/media/{ticket}``: a phone call's audio, in Twilio Media Streams' protocol.

The upgrade is refused (HTTP 403) unless the ticket is one the gateway's admission just issued and
``X-Twilio-Signature`` is Twilio's over this URL. Then: ``connected``, ``start`` (its ``callSid`` must be the
admitted call's), ``media`` frames into the call's inbound buffer (the media hub does the rest), ``dtmf``,
``mark``, ``stop``. Malformed messages are skipped and counted; too many, or a socket that drops, end the call
with its record kept."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from afo_common.events.call import CallEnd
from afo_voice_media.adapters import twilio_media as tm
from afo_voice_media.handlers.call_runner import CallRunner
from afo_voice_media.handlers.call_session import CallSession
from afo_voice_media.handlers.calls import Calls, MediaRefused, context_of

log = logging.getLogger(__name__)
START_TIMEOUT_S = 10.0
MAX_MALFORMED = 50


class TwilioSink:
    def __init__(self, websocket: WebSocket, stream_sid: str) -> None:
        self._ws = websocket
        self._sid = stream_sid

    async def send_audio(self, ulaw: bytes) -> None:
        await self._ws.send_text(tm.media(self._sid, ulaw))

    async def send_mark(self, name: str) -> None:
        await self._ws.send_text(tm.mark(self._sid, name))

    async def clear(self) -> None:
        await self._ws.send_text(tm.clear(self._sid))

    async def hang_up(self) -> None:
        """Closing the stream ends ``<Connect>``; with no TwiML after it, Twilio hangs up."""
        await self._ws.close()


def media_router(calls: Calls, runner: CallRunner, public_url: str | None) -> APIRouter:
    router = APIRouter()

    @router.websocket("/twilio/media/{ticket}")
    async def twilio_media(websocket: WebSocket, ticket: str) -> None:
        try:
            row = await calls.open_media(ticket, _called_url(websocket, public_url),
                                         websocket.headers.get("x-twilio-signature"))
        except MediaRefused as exc:
            log.warning("media WebSocket refused: %s", exc)
            await websocket.close(code=1008)
            return
        await websocket.accept()
        try:
            start = await asyncio.wait_for(_await_start(websocket), START_TIMEOUT_S)
        except (TimeoutError, WebSocketDisconnect, tm.MalformedMessage) as exc:
            log.info("call %s: no stream started: %s", row.id, type(exc).__name__)
            await calls.ended(context_of(row), "dropped" if isinstance(exc, WebSocketDisconnect) else "failed", 0.0, 0)
            await _close(websocket)
            return
        if start.call_sid != row.provider_call_id:
            log.warning("call %s: the stream is for another call (%s)", row.id, start.call_sid)
            await calls.ended(context_of(row), "failed", 0.0, 0)
            await _close(websocket)
            return
        await runner.run(row, TwilioSink(websocket, start.stream_sid), lambda session: _pump(websocket, session))
        await _close(websocket)

    return router



async def _close(websocket: WebSocket) -> None:
    """Close our side; a caller whose socket already dropped (Twilio hung up first) has nothing left to close."""
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.close()


def _called_url(websocket: WebSocket, public_url: str | None) -> str:
    """The URL Twilio signed: the public address with this path when set (behind a proxy), else the request's."""
    if public_url:
        return public_url.rstrip("/") + websocket.url.path
    return str(websocket.url)


async def _receive(websocket: WebSocket) -> str | bytes:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message.get("text") or message.get("bytes") or b""


async def _await_start(websocket: WebSocket) -> tm.Start:
    while True:
        message = tm.parse(await _receive(websocket))
        if isinstance(message, tm.Start):
            return message
        if isinstance(message, tm.Stop):
            raise WebSocketDisconnect(1000)


async def _pump(websocket: WebSocket, session: CallSession) -> CallEnd:
    malformed = 0
    while True:
        try:
            text = await _receive(websocket)
        except WebSocketDisconnect:
            return "dropped"
        try:
            message = tm.parse(text)
        except tm.MalformedMessage as exc:
            malformed += 1
            if malformed == 1 or malformed % 10 == 0:
                log.warning("call %s: malformed media message (%d so far): %s", session.call.call_id, malformed, exc)
            if malformed >= MAX_MALFORMED:
                return "failed"
            continue
        if isinstance(message, tm.Media):
            session.inbound += message.ulaw
        elif isinstance(message, tm.Dtmf):
            session.on_dtmf(message.digit)
        elif isinstance(message, tm.Stop):
            return "caller_hung_up"
