"""The Media Streams caller against a small local server that speaks Twilio's protocol from the other side:
it refuses an upgrade without Twilio's signature (403), echoes each caller utterance back as outbound
``media`` followed by a ``mark``, sends ``clear`` when the caller talks over its playback, and on DTMF digits
misbehaves on purpose (7: malformed messages, 5: a reply with a hole in it, 0: closes the stream)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request, Response

from afo_testkit.media_streams import FRAME_BYTES, CallEnded, MediaStreamCall, rms, twilio_signature
from afo_voice_media.domain.audio import PHONE_RATE, ULAW_SILENCE, pcm_to_ulaw

AUTH_TOKEN = "twilio-auth-token-secret"


def tone(seconds: float, amplitude: int = 8000) -> bytes:
    t = np.arange(int(seconds * PHONE_RATE)) / PHONE_RATE
    return pcm_to_ulaw((amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.int16))


@dataclass
class EchoServer:
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    playing_until: float = 0.0
    replies: int = 0

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.headers = dict(ws.request.headers)
        heard = bytearray()
        quiet = 0
        async for raw in ws:
            message = json.loads(raw)
            self.received.append((time.monotonic(), message))
            sid = message.get("streamSid")
            if message["event"] == "media":
                frame = base64.b64decode(message["media"]["payload"])
                if rms(frame) > 200:
                    if not heard and time.monotonic() < self.playing_until:
                        self.playing_until = 0.0
                        await ws.send(json.dumps({"event": "clear", "streamSid": sid}))
                    heard += frame
                    quiet = 0
                elif heard and (quiet := quiet + 1) == 5:
                    await self.play(ws, sid, bytes(heard))
                    heard.clear()
            elif message["event"] == "dtmf":
                await self.misbehave(ws, sid, message["dtmf"]["digit"])
            elif message["event"] == "stop":
                return

    async def play(self, ws: ServerConnection, sid: str, audio: bytes) -> None:
        for i in range(0, len(audio), FRAME_BYTES):
            payload = base64.b64encode(audio[i:i + FRAME_BYTES]).decode()
            await ws.send(json.dumps({"event": "media", "streamSid": sid, "media": {"payload": payload}}))
        self.replies += 1
        await ws.send(json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": f"reply-{self.replies}"}}))
        self.playing_until = max(time.monotonic(), self.playing_until) + len(audio) / PHONE_RATE

    async def misbehave(self, ws: ServerConnection, sid: str, digit: str) -> None:
        if digit == "7":
            for bad in ["not json", "[1, 2]", json.dumps({"event": "media", "streamSid": sid}),
                        json.dumps({"event": "media", "streamSid": sid, "media": {"payload": "@@not base64@@"}}),
                        json.dumps({"event": "media", "streamSid": "MZsomeoneelse", "media": {"payload": "/w=="}}),
                        json.dumps({"event": "mark", "streamSid": sid, "mark": {}}),
                        json.dumps({"event": "dance", "streamSid": sid})]:
                await ws.send(bad)
            await ws.send(b"\x00\x01")
            await self.play(ws, sid, tone(0.1))
        elif digit == "5":
            await self.play(ws, sid, tone(0.2))
            await asyncio.sleep(0.45)
            await self.play(ws, sid, tone(0.2))
        elif digit == "0":
            await ws.close()

    def events(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return [(at, message) for at, message in self.received if message["event"] == name]


def refuse_bad_signatures(connection: ServerConnection, request: Request) -> Response | None:
    """What a platform does with the upgrade: 403 unless Twilio's signature of the URL is right."""
    url = f"ws://{request.headers['Host']}{request.path}"
    if RequestValidator(AUTH_TOKEN).validate(url, {}, request.headers.get("X-Twilio-Signature", "")):
        return None
    return connection.respond(403, "bad signature\n")


@pytest.fixture
async def echo() -> AsyncIterator[tuple[EchoServer, str]]:
    server = EchoServer()
    async with serve(server.handle, "127.0.0.1", 0, process_request=refuse_bad_signatures) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        yield server, f"ws://127.0.0.1:{port}/twilio/media"


def signed(url: str) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url)}


def test_a_silent_line_has_no_loudness_and_a_tone_has() -> None:
    assert rms(bytes([ULAW_SILENCE]) * 160) == 0
    assert rms(tone(0.02)) > 1000


async def test_the_stream_opens_as_twilio_does_and_media_flows_at_real_time(echo: tuple[EchoServer, str]) -> None:
    server, url = echo
    headers = {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url)}
    async with MediaStreamCall(url, call_sid="CA1", account_sid="AC1", stream_sid="MZ1",
                               custom_parameters={"tenant": "t_1"}, headers=headers) as call:
        await call.silence(1.0)
    await asyncio.sleep(0.1)

    assert RequestValidator(AUTH_TOKEN).validate(url, {}, server.headers["x-twilio-signature"])
    (_, connected), (_, start) = server.received[:2]
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert start["sequenceNumber"] == "1" and start["streamSid"] == "MZ1"
    assert start["start"] == {"streamSid": "MZ1", "accountSid": "AC1", "callSid": "CA1", "tracks": ["inbound"],
                              "customParameters": {"tenant": "t_1"},
                              "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}
    media = server.events("media")
    assert 44 <= len(media) <= 56, "one 20 ms frame at a time for a second"
    span = media[-1][0] - media[0][0]
    assert abs(span / (len(media) - 1) - 0.02) < 0.003
    assert [m["media"]["chunk"] for _, m in media] == [str(i) for i in range(1, len(media) + 1)]
    assert [m["media"]["timestamp"] for _, m in media[:3]] == ["0", "20", "40"]
    assert all(m["media"]["track"] == "inbound" and base64.b64decode(m["media"]["payload"]) == b"\xff" * 160
               for _, m in media)
    numbers = [int(m["sequenceNumber"]) for _, m in server.received[1:]]
    assert numbers == list(range(1, len(numbers) + 1))
    _, stop = server.received[-1]
    assert stop["event"] == "stop" and stop["stop"] == {"accountSid": "AC1", "callSid": "CA1"}
    assert call.media_sent == len(media) and call.malformed == []


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": twilio_signature("another-token", "ws://x/")}])
async def test_an_upgrade_without_the_right_signature_is_refused(echo: tuple[EchoServer, str],
                                                                 headers: dict[str, str]) -> None:
    server, url = echo
    with pytest.raises(InvalidStatus) as refused:
        async with MediaStreamCall(url, headers=headers):
            pass
    assert refused.value.response.status_code == 403 and server.received == []


async def test_an_utterance_is_answered_and_its_mark_echoed_once_played(echo: tuple[EchoServer, str]) -> None:
    _, url = echo
    said = tone(0.6)
    async with MediaStreamCall(url, headers=signed(url)) as call:
        await call.silence(0.1)
        turn = await call.say(said)
        reply = await call.wait_for_reply(within=2)
        await call.wait_for_agent_silence(quiet=0.2, within=3)

    assert turn.ended is not None and 0.5 < turn.ended - turn.started < 0.7
    assert reply is not None and reply.audio == said and call.agent_audio == said
    assert turn.latency is not None and 0.08 < turn.latency < 0.3, "the server answers after 5 quiet frames"
    assert not turn.agent_playing_at_onset and turn.clear_at is None
    [(name, received)] = call.marks_received
    [(echoed_name, echoed)] = call.marks_echoed
    assert name == echoed_name == "reply-1"
    assert 0.55 < echoed - received < 0.7, "echoed when the 0.6 s queued before it has played"
    assert reply.worst_gap == 0


async def test_a_pause_between_words_is_not_the_end_of_the_turn(echo: tuple[EchoServer, str]) -> None:
    _, url = echo
    async with MediaStreamCall(url, headers=signed(url)) as call:
        turn = await call.say(tone(0.3) + bytes([ULAW_SILENCE]) * 2400 + tone(0.3))
        reply = await call.wait_for_reply(within=2)

    assert turn.ended is not None and 0.85 < turn.ended - turn.started < 0.95
    assert len(call.replies) == 2, "the server answered the first half during the pause"
    assert reply is call.replies[1] and reply.audio == tone(0.3)
    assert turn.latency is not None and 0.08 < turn.latency < 0.3


async def test_speaking_over_the_agent_gets_a_clear_that_drops_playback_and_echoes_the_mark_at_once(
        echo: tuple[EchoServer, str]) -> None:
    _, url = echo
    async with MediaStreamCall(url, headers=signed(url)) as call:
        await call.say(tone(2.0))
        await call.wait_for_reply(within=2)
        await call.silence(0.3)
        assert call.agent_playing
        interruption = await call.say(tone(0.3))
        await call.silence(0.2)

    assert interruption.agent_playing_at_onset
    assert interruption.barge_in_reaction is not None and interruption.barge_in_reaction < 0.1
    [cleared] = call.clears
    [(_, echoed)] = call.marks_echoed
    assert echoed - cleared < 0.05, "a clear echoes the pending mark at once, not 2 s later"
    assert call.replies[0].cleared_at == cleared
    assert len(call.replies) == 2 and interruption.reply is call.replies[1], "the interruption is answered too"


async def test_a_hole_in_the_agent_audio_is_the_reply_worst_gap(echo: tuple[EchoServer, str]) -> None:
    _, url = echo
    async with MediaStreamCall(url, headers=signed(url)) as call:
        await call.dtmf("5")
        assert await call.wait_for_agent_audio(within=2) is not None
        await call.wait_for_agent_silence(quiet=0.6, within=3)

    [reply] = call.replies
    assert len(reply.frames) == 20
    assert 0.2 < reply.worst_gap < 0.35, "0.45 s between bursts minus the 0.2 s still playing"


async def test_malformed_server_messages_are_recorded_and_the_call_goes_on(echo: tuple[EchoServer, str]) -> None:
    server, url = echo
    async with MediaStreamCall(url, stream_sid="MZ1", headers=signed(url)) as call:
        await call.dtmf("7")
        assert await call.wait_for_agent_audio(within=2) is not None
        await call.wait_for_agent_silence(quiet=0.2, within=3)
        sent = call.media_sent
        await call.silence(0.2)
        assert call.media_sent > sent

    assert len(call.malformed) == 8
    assert any("not JSON" in reason for reason in call.malformed)
    assert any("MZsomeoneelse" in reason for reason in call.malformed)
    assert any("binary" in reason for reason in call.malformed)
    assert call.agent_audio == tone(0.1), "only the well-formed media is played"
    assert server.events("dtmf")[0][1]["dtmf"] == {"track": "inbound_track", "digit": "7"}


async def test_the_server_closing_the_stream_ends_the_call(echo: tuple[EchoServer, str]) -> None:
    server, url = echo
    async with MediaStreamCall(url, headers=signed(url)) as call:
        await call.dtmf("0")
        assert await call.wait_closed(within=2)
        with pytest.raises(CallEnded):
            await call.say(tone(0.2))
    assert call.ended and server.events("stop") == []


async def test_a_server_that_accepts_and_drops_the_stream_at_once_ends_the_call() -> None:
    async def drop(ws: ServerConnection) -> None:
        await ws.close(1011)

    async with serve(drop, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        async with MediaStreamCall(f"ws://127.0.0.1:{port}/twilio/media") as call:
            assert await call.wait_closed(within=2)
            with pytest.raises(CallEnded):
                await call.say(tone(0.2))
    assert call.turns == [] and call.agent_frames == []
