"""Browser calls over the running platform: aiortc plays the browser (the widget's voice button) — its offer,
with the agent's publishable key from an allowed origin, is answered by voice-media through the gateway; the
agent's greeting arrives as audio on the peer connection, the caller's espeak-ng speech is heard by the offline
recogniser and answered, and the call is recorded like a phone call. A foreign origin and a malformed SDP are
refused."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
import pytest_asyncio
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from afo_testkit.platform import Platform
from afo_voice_media.adapters.espeak_tts import EspeakTts
from tests.e2e.journey import eventually, published_agent, sign_up
from tests.e2e.phone import answered_turn_of

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ORIGIN = "https://shop.example.com"
RATE = 16000
FRAME = RATE // 50
WAIT_S = 40.0


class Microphone(MediaStreamTrack):
    """The browser's microphone: silence, or what ``say`` queued, in 20 ms frames at real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._start: float | None = None
        self._pts = 0

    def say(self, pcm: bytes) -> None:
        self._pending += pcm

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += FRAME
            await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.time()))
        chunk = bytes(self._pending[:FRAME * 2]).ljust(FRAME * 2, b"\x00")
        del self._pending[:FRAME * 2]
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk)
        frame.pts, frame.sample_rate, frame.time_base = self._pts, RATE, fractions.Fraction(1, RATE)
        return frame


class Speaker:
    """What the browser hears: the time of every frame louder than silence."""

    def __init__(self) -> None:
        self.voiced: list[float] = []

    async def listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, AudioFrame)
                samples = frame.to_ndarray().astype(np.float32)
                if float(np.sqrt(np.mean(samples ** 2))) > 300.0:
                    self.voiced.append(time.monotonic())

    async def heard(self, after: float, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if any(at >= after for at in self.voiced):
                return True
            await asyncio.sleep(0.05)
        return False


async def spoken(text: str) -> bytes:
    return b"".join([chunk async for chunk in EspeakTts().speak(text, RATE, None)])


@pytest_asyncio.fixture(loop_scope="session")
async def browser() -> AsyncIterator[tuple[RTCPeerConnection, Microphone, Speaker]]:
    connection, microphone, speaker = RTCPeerConnection(), Microphone(), Speaker()
    connection.addTrack(microphone)
    listening: list[asyncio.Task[None]] = []

    @connection.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        listening.append(asyncio.ensure_future(speaker.listen(track)))

    yield connection, microphone, speaker
    await connection.close()
    for task in listening:
        task.cancel()


async def test_a_browser_call_is_answered_by_voice_and_recorded(
        platform: Platform, api: httpx.AsyncClient,
        browser: tuple[RTCPeerConnection, Microphone, Speaker]) -> None:
    connection, microphone, speaker = browser
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, greeting="Hi, this is Ava from Acme. How can I help?",
                                     qualification_fields=["name", "company"])
    created = await api.post("/v1/api-keys", headers=tenant.auth,
                             json={"kind": "publishable", "agent_id": agent_id, "allowed_origins": [ORIGIN]})
    widget = {"Authorization": f"Bearer {created.json()['secret']}", "Origin": ORIGIN}

    await connection.setLocalDescription(await connection.createOffer())
    answered = await api.post("/v1/calls/webrtc/offer", headers=widget,
                              json={"sdp": connection.localDescription.sdp, "type": "offer"})
    assert answered.status_code == 200, answered.text
    answer = answered.json()
    assert answer["type"] == "answer" and answer["call_id"].startswith("call_")
    await connection.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    assert await speaker.heard(0.0, WAIT_S), "no greeting on the peer connection"
    await asyncio.sleep(4.0)  # the greeting plays out
    microphone.say(await spoken("Hello, my name is Dana Smith and I work at Northwind."))
    said_at = time.monotonic()
    assert await speaker.heard(said_at + 3.0, WAIT_S), "no answer after the caller spoke"
    # Hung up once the answer is recorded (what was heard may be the greeting's end, late on a busy machine).
    await answered_turn_of(api, tenant, answer["call_id"], WAIT_S)
    await connection.close()

    record = await eventually(api, tenant, f"/v1/calls/{answer['call_id']}", lambda b: b["state"] == "ended",
                              within_s=WAIT_S)
    assert record["transport"] == "webrtc" and record["caller"] is None and record["turns"] >= 1
    assert "dana" in record["transcript"][0]["caller_text"].lower()
    conversation = (await api.get(f"/v1/conversations/{answer['conversation_id']}", headers=tenant.auth)).json()
    assert conversation["channel"] == "voice"


async def test_a_foreign_origin_and_a_malformed_offer_are_refused(platform: Platform, api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    created = await api.post("/v1/api-keys", headers=tenant.auth,
                             json={"kind": "publishable", "agent_id": agent_id, "allowed_origins": [ORIGIN]})
    key = created.json()["secret"]
    offer = {"sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", "type": "offer"}
    foreign = await api.post("/v1/calls/webrtc/offer", json=offer,
                             headers={"Authorization": f"Bearer {key}", "Origin": "https://evil.example.com"})
    assert foreign.status_code == 403
    for sdp in (offer["sdp"], "this is not a session description at all\r\nm=audio nonsense\r\n"):
        malformed = await api.post("/v1/calls/webrtc/offer", json={"sdp": sdp, "type": "offer"},
                                   headers={"Authorization": f"Bearer {key}", "Origin": ORIGIN})
        assert malformed.status_code == 422, malformed.text
        assert malformed.headers["content-type"].startswith("application/problem+json")
    other_agent = await api.post("/v1/calls/webrtc/offer", json={**offer, "agent_id": "agt_someone_else"},
                                 headers={"Authorization": f"Bearer {key}", "Origin": ORIGIN})
    assert other_agent.status_code == 403
