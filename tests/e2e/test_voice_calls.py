"""Phone calls over the running platform (every service, real nats-server), driven by a Twilio Media Streams
client written to Twilio's documented protocol (``afo_testkit.media_streams``) with the caller's speech
synthesised by espeak-ng, heard by the offline recogniser (Whisper tiny.en) and answered by the agent in espeak's
voice:

- Twilio's voice webhook, signed for the tenant's auth token, is answered with TwiML streaming the call to
  voice-media; the media WebSocket, signed too, carries the greeting, the caller's words become the
  conversation's messages, the agent's answer comes back as ``media`` frames, and the call's record holds the
  transcript of both sides with every turn's latency; the lead is qualified from what was said;
- the caller speaking over the agent gets a ``clear`` and the cut answer is recorded as heard; DTMF digits reach
  the agent as text;
- a bad signature is refused (403) on the webhook and on the WebSocket; a stream that breaks the protocol or
  drops ends the call with its record kept."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from afo_testkit.media_streams import twilio_signature
from afo_testkit.openai_server import FakeOpenAI, Text
from afo_testkit.platform import Platform
from afo_testkit.twilio_server import FakeTwilio
from afo_voice_media.domain.audio import ulaw_to_pcm
from tests.e2e.conftest import OPERATOR_LLM_KEY
from tests.e2e.journey import Tenant, eventually, sign_up
from tests.e2e.phone import media_call, phone_agent, speech, stream_url, voice_webhook

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

AGENT_NUMBER = "+14155550123"
SLOW_AGENT_NUMBER = "+14155550126"
LLM_KEY = OPERATOR_LLM_KEY  # the shared platform's: the slow agent's tenant stores no key of its own
MODEL_DELAY_S = 2.5
LONG_ANSWER = ("Our professional plan costs forty dollars a month for each seat. It includes unlimited "
               "conversations, your knowledge base, and calendar booking for the whole team.")
WAIT_S = 40.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def model() -> AsyncIterator[FakeOpenAI]:
    """A slow model (as one that searches or books before it answers) with a long answer."""
    async with FakeOpenAI(lambda _body: Text(LONG_ANSWER), api_key=LLM_KEY) as server:
        server.delay_s = MODEL_DELAY_S
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def voice_tenant(platform: Platform, twilio: FakeTwilio) -> AsyncIterator[tuple[Tenant, str]]:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as api:
        yield await phone_agent(api, twilio, AGENT_NUMBER, greeting="Hi, this is Ava from Acme. How can I help?",
                                qualification_fields=["name", "company"],
                                voice={"vocabulary": ["Acme", "Northwind"]})


async def incoming_call(api: httpx.AsyncClient, twilio: FakeTwilio, sid: str, token: str | None = None
                        ) -> httpx.Response:
    return await voice_webhook(api, twilio, {
        "CallSid": sid, "AccountSid": twilio.account_sid, "From": "+14155550199", "To": AGENT_NUMBER,
        "Direction": "inbound", "CallStatus": "ringing"}, token)


async def admitted(api: httpx.AsyncClient, twilio: FakeTwilio, sid: str) -> str:
    """The media URL of an incoming call the gateway answered."""
    answered = await incoming_call(api, twilio, sid)
    assert answered.headers["content-type"].startswith("application/xml")
    return stream_url(answered)


def read_wav(data: bytes) -> tuple[int, int, int, npt.NDArray[np.int16]]:
    """(format, channels, rate, samples by channel) of a RIFF WAV file, its chunks read as the format says."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    chunks: dict[bytes, bytes] = {}
    at = 12
    while at + 8 <= len(data):
        kind, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        chunks[kind] = data[at + 8:at + 8 + size]
        at += 8 + size + size % 2
    fmt, channels, rate = struct.unpack("<HHI", chunks[b"fmt "][:8])
    samples = ulaw_to_pcm(chunks[b"data"]).reshape(-1, channels)
    return fmt, channels, rate, samples


def channel_loudness(samples: npt.NDArray[np.int16]) -> tuple[float, float]:
    """RMS of the left (caller) and right (agent) channels, in 16-bit sample units."""
    loudness = np.sqrt(np.mean(samples.astype(np.float64) ** 2, axis=0))
    return float(loudness[0]), float(loudness[1])


async def ended_call(api: httpx.AsyncClient, tenant: Tenant, call_id: str) -> dict[str, Any]:
    record: dict[str, Any] = await eventually(api, tenant, f"/v1/calls/{call_id}", lambda b: b["state"] == "ended",
                                              within_s=WAIT_S)
    return record


async def call_id_of(api: httpx.AsyncClient, tenant: Tenant) -> str:
    listed = await api.get("/v1/calls", headers=tenant.auth)
    assert listed.status_code == 200, listed.text
    call_id: str = listed.json()["data"][0]["id"]
    return call_id


async def test_a_call_is_answered_by_voice_transcribed_and_the_lead_qualified_from_speech(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, voice_tenant: tuple[Tenant, str]) -> None:
    tenant, agent_id = voice_tenant
    sid = "CA" + "1" * 32
    url = await admitted(api, twilio, sid)
    async with media_call(url, twilio, sid) as call:
        assert await call.wait_for_agent_audio(within=WAIT_S), "no greeting"
        assert await call.wait_for_agent_silence(within=WAIT_S)
        greeting_frames = len(call.agent_frames)
        assert greeting_frames * 0.02 > 1.5  # "Hi, this is Ava from Acme. How can I help?" spoken
        turn = await call.say(await speech("Hello, my name is Dana Smith and I work at Northwind."))
        reply = await call.wait_for_reply(within=WAIT_S)
        assert reply is not None, "the agent did not answer"
        assert turn.latency is not None and turn.latency > 0  # how fast: bench/voice_afo.py
        assert await call.wait_for_agent_silence(within=WAIT_S)
        assert not call.malformed
    call_id = await call_id_of(api, tenant)
    record = await ended_call(api, tenant, call_id)
    assert record["agent_id"] == agent_id and record["transport"] == "twilio" and record["caller"] == "+14155550199"
    assert record["end_reason"] == "caller_hung_up" and record["turns"] == 1
    [spoken] = record["transcript"]
    assert "dana" in spoken["caller_text"].lower() and spoken["agent_text"]
    assert spoken["heard_text"] == spoken["agent_text"] and not spoken["interrupted"]
    latency = spoken["latency"]
    assert 0 < latency["turn_decision_ms"] <= latency["stt_final_ms"] <= latency["first_audio_out_ms"]
    assert latency["first_reply_delta_ms"] is not None and latency["first_tts_audio_ms"] is not None

    recorded = await eventually(api, tenant, f"/v1/calls/{call_id}", lambda b: b["recording"] is not None,
                                within_s=WAIT_S)
    assert recorded["recording"]["duration_s"] > 3.0
    wav = await api.get(f"/v1/calls/{call_id}/recording", headers=tenant.auth)
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    assert len(wav.content) == recorded["recording"]["bytes"]
    fmt, channels, rate, samples = read_wav(wav.content)
    assert (fmt, channels, rate) == (7, 2, 8000)  # G.711 μ-law, caller and agent
    assert abs(len(samples) / 8000 - recorded["recording"]["duration_s"]) < 0.1
    caller, agent = channel_loudness(samples)
    assert caller > 100 and agent > 100  # both sides were heard
    stranger = await sign_up(api)
    assert (await api.get(f"/v1/calls/{call_id}/recording", headers=stranger.auth)).status_code == 404

    conversation = await api.get(f"/v1/conversations/{record['conversation_id']}", headers=tenant.auth)
    assert conversation.status_code == 200, conversation.text
    body = conversation.json()
    assert body["channel"] == "voice"
    assert [m["role"] for m in body["messages"]][:3] == ["assistant", "user", "assistant"]
    assert body["lead"]["fields"]["phone"] == "+14155550199"
    assert "dana" in body["lead"]["fields"].get("name", "").lower()


async def test_speaking_over_the_agent_clears_its_audio_and_digits_reach_it_as_text(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, voice_tenant: tuple[Tenant, str]) -> None:
    tenant, _ = voice_tenant
    sid = "CA" + "2" * 32
    url = await admitted(api, twilio, sid)
    async with media_call(url, twilio, sid) as call:
        assert await call.wait_for_agent_audio(within=WAIT_S)
        await asyncio.sleep(0.6)  # into the greeting
        assert call.agent_playing
        turn = await call.say(await speech("Sorry, can I ask something first about your prices?"))
        assert turn.agent_playing_at_onset
        assert turn.clear_at is not None, "no clear while the caller spoke over the agent"
        assert await call.wait_for_reply(within=WAIT_S)
        assert await call.wait_for_agent_silence(within=WAIT_S)
        for digit in "42":
            await call.dtmf(digit)
        await call.silence(2.5)
    call_id = await call_id_of(api, tenant)
    record = await ended_call(api, tenant, call_id)
    conversation = (await api.get(f"/v1/conversations/{record['conversation_id']}", headers=tenant.auth)).json()
    said = [m["text"] for m in conversation["messages"] if m["role"] == "user"]
    assert "42" in said, said
    assert record["turns"] == 2


async def test_bad_signatures_are_refused_on_the_webhook_and_the_media_socket(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, voice_tenant: tuple[Tenant, str]) -> None:
    refused = await incoming_call(api, twilio, "CA" + "3" * 32, token="not-the-tenants-token-123")
    assert refused.status_code == 403
    url = await admitted(api, twilio, "CA" + "4" * 32)
    with pytest.raises(InvalidStatus) as bad:
        await connect(url, additional_headers={"X-Twilio-Signature": twilio_signature("wrong-token-00000", url)})
    assert bad.value.response.status_code == 403
    unknown = url + "x"  # a well-signed request for a ticket nobody issued
    with pytest.raises(InvalidStatus) as no_ticket:
        await connect(unknown, additional_headers={"X-Twilio-Signature": twilio_signature(twilio.auth_token, unknown)})
    assert no_ticket.value.response.status_code == 403


async def test_a_stream_that_breaks_the_protocol_or_drops_ends_the_call_with_its_record(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, voice_tenant: tuple[Tenant, str]) -> None:
    tenant, _ = voice_tenant
    sid = "CA" + "5" * 32
    url = await admitted(api, twilio, sid)
    async with connect(url, additional_headers={"X-Twilio-Signature": twilio_signature(twilio.auth_token, url)}
                       ) as socket:
        await socket.send('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
        await socket.send(json.dumps({"event": "start", "start": {
            "streamSid": "MZ1", "callSid": sid, "accountSid": twilio.account_sid, "tracks": ["inbound"]}}))
        for garbage in ("not json", '{"event": "media", "media": {"payload": "%%%"}}', '{"no": "event"}',
                        '{"event": "dtmf", "dtmf": {"digit": "x"}}'):
            await socket.send(garbage)
        await asyncio.sleep(0.5)
    # The socket closed without a stop: the caller is gone.
    record = await ended_call(api, tenant, await call_id_of(api, tenant))
    assert record["end_reason"] == "dropped" and record["turns"] == 0


async def test_a_slow_answer_is_preceded_by_a_filler_and_a_backchannel_does_not_interrupt_it(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, model: FakeOpenAI) -> None:
    tenant, _ = await phone_agent(api, twilio, SLOW_AGENT_NUMBER, greeting="Hi, this is Ava.",
                                  llm={"provider": "openai", "model": "gpt-test", "base_url": model.base_url})
    sid = "CA" + "6" * 32
    url = stream_url(await voice_webhook(api, twilio, {
        "CallSid": sid, "AccountSid": twilio.account_sid, "From": "+14155550188", "To": SLOW_AGENT_NUMBER,
        "Direction": "inbound", "CallStatus": "ringing"}))
    async with media_call(url, twilio, sid) as call:
        assert await call.wait_for_agent_audio(within=WAIT_S)
        assert await call.wait_for_agent_silence(within=WAIT_S)
        turn = await call.say(await speech("How much is the professional plan?"))
        filler = await call.wait_for_reply(within=WAIT_S)
        assert filler is not None and turn.ended is not None
        assert await call.wait_for_agent_audio(after=filler.started + 1.5, within=WAIT_S)
        await asyncio.sleep(1.5)  # into the long answer
        assert call.agent_playing
        backchannel = await call.say(await speech("Okay."))
        assert backchannel.agent_playing_at_onset and backchannel.clear_at is not None
        # It was only "okay": the agent carries on where it stopped.
        assert await call.wait_for_agent_audio(after=backchannel.clear_at + 0.3, within=WAIT_S)
        assert await call.wait_for_agent_silence(within=WAIT_S)
    record = await ended_call(api, tenant, await call_id_of(api, tenant))
    [answered] = record["transcript"]
    assert answered["agent_text"] == LONG_ANSWER and not answered["interrupted"]
    assert answered["heard_text"] == LONG_ANSWER
    reply_began_s = answered["latency"]["first_reply_delta_ms"] / 1000
    assert reply_began_s >= MODEL_DELAY_S
    # What the caller heard first, well before the model's answer began, was the filler (both clocks are the
    # machine's monotonic clock: the caller's end of speech and voice-media's are milliseconds apart).
    assert filler.started - turn.ended < reply_began_s - 0.5
