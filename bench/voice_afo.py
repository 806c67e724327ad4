"""AFO as the server under test of the voice benchmark: the whole platform (every service, its own nats-server)
with the tenant's speech providers replaced by local stand-ins that answer after known delays — Deepgram's
live API (``FakeDeepgram``: the final words ``STT_DELAY_S`` after Finalize) and ElevenLabs' stream
(``FakeElevenLabs``: first byte ``TTS_DELAY_S`` after the request) — and the agent answering with its
embedded engine (agent-runtime's own time is the platform's, so nothing is subtracted for it).

Every call is admitted the way Twilio admits it: ``POST /twilio/voice`` signed for the tenant's auth token, the
TwiML's stream URL opened with its own ``X-Twilio-Signature``. ``tickets(n)`` does that for n calls at once."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from afo_testkit.deepgram_server import FakeDeepgram
from afo_testkit.elevenlabs_server import FakeElevenLabs
from afo_testkit.media_streams import twilio_signature
from afo_testkit.platform import Platform, running_platform
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.twilio_server import FakeTwilio

PUBLIC = "https://afo.example.com"
AGENT_NUMBER = "+14155550123"
STT_DELAY_S = 0.100
TTS_DELAY_S = 0.080
# What the fake recogniser hears in every utterance: a question the embedded engine answers in one sentence.
HEARD = "What are your opening hours?"


@dataclass(frozen=True)
class Ticket:
    url: str
    call_sid: str
    account_sid: str
    signature: str


def platform_added_ms(latency: dict[str, float]) -> float:
    """A turn's share of the platform: first audio out minus the silence waited for on purpose and the providers'
    own time."""
    return (latency["first_audio_out_ms"] - latency["endpoint_wait_ms"] - latency["stt_provider_ms"]
            - latency["tts_provider_ms"])


@dataclass
class AfoVoice:
    platform: Platform
    twilio: FakeTwilio
    api: httpx.AsyncClient
    auth: dict[str, str]

    @property
    def pid(self) -> int:
        pid = self.platform.pids["voice-media"]
        assert pid is not None
        return pid

    @property
    def provider_ms(self) -> float:
        return (STT_DELAY_S + TTS_DELAY_S) * 1000.0

    async def turn_records(self) -> list[dict[str, float]]:
        """Every recorded turn's latency breakdown (``TurnLatency``) that reached the caller's ear."""
        added: list[dict[str, float]] = []
        cursor: str | None = None
        while True:
            page = (await self.api.get("/v1/calls", headers=self.auth, params={"limit": 100, **(
                {"cursor": cursor} if cursor else {})})).json()
            for call in page["data"]:
                detail = (await self.api.get(f"/v1/calls/{call['id']}", headers=self.auth)).json()
                for turn in detail["transcript"]:
                    latency = turn["latency"] or {}
                    if latency.get("first_audio_out_ms") is not None:
                        added.append(latency)
            cursor = page["next_cursor"]
            if cursor is None:
                return added

    async def tickets(self, count: int) -> list[Ticket]:
        made = []
        for _ in range(count):
            sid = "CA" + uuid.uuid4().hex
            params = {"CallSid": sid, "AccountSid": self.twilio.account_sid, "From": "+14155550199",
                      "To": AGENT_NUMBER, "Direction": "inbound", "CallStatus": "ringing"}
            signature = RequestValidator(self.twilio.auth_token).compute_signature(f"{PUBLIC}/twilio/voice", params)
            answered = await self.api.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})
            answered.raise_for_status()
            found = re.search(r'<Stream url="([^"]+)"', answered.text)
            assert found, answered.text
            url = found.group(1)
            made.append(Ticket(url, sid, self.twilio.account_sid, twilio_signature(self.twilio.auth_token, url)))
        return made


@asynccontextmanager
async def voice_media_database(workers: int) -> AsyncIterator[dict[str, str]]:
    """voice-media's variables for ``workers`` processes: more than one share a PostgreSQL database, made here
    for the run and dropped after it."""
    if workers == 1:
        yield {}
        return
    databases = await asyncio.to_thread(PostgresDatabases.open)
    try:
        yield {"AFO_VOICE_MEDIA_WORKERS": str(workers), "AFO_VOICE_MEDIA_DATABASE_URL": await databases.create()}
    finally:
        await asyncio.to_thread(databases.close)


@asynccontextmanager
async def afo_voice(home: Path, workers: int = 1) -> AsyncIterator[AfoVoice]:
    deepgram = FakeDeepgram(recognise=lambda _audio: HEARD, finalize_delay_s=STT_DELAY_S)
    elevenlabs = FakeElevenLabs(first_byte_delay_s=TTS_DELAY_S, seconds_per_char=0.06)
    async with FakeTwilio() as twilio, deepgram, elevenlabs, voice_media_database(workers) as voice_media, \
            running_platform(home, supervise=False, environment=voice_media, AFO_PUBLIC_URL=PUBLIC,
                             AFO_DEEPGRAM_URL=deepgram.base_url, AFO_ELEVENLABS_URL=elevenlabs.base_url,
                             AFO_LOG_LEVEL="WARNING") as platform, \
            httpx.AsyncClient(base_url=platform.gateway_url, timeout=60.0) as api:
        signed = await api.post("/v1/signup", json={"email": f"bench+{uuid.uuid4().hex[:8]}@example.com",
                                                    "password": "correct horse battery", "company": "Bench"})
        signed.raise_for_status()
        auth = {"Authorization": f"Bearer {signed.json()['api_key']['secret']}"}
        for provider, fields in (("twilio", {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token,
                                             "from_number": AGENT_NUMBER}),
                                 ("deepgram", {"api_key": deepgram.api_key}),
                                 ("elevenlabs", {"api_key": elevenlabs.api_key})):
            (await api.put(f"/v1/integrations/{provider}", headers=auth, json=fields)).raise_for_status()
        agent = await api.post("/v1/agents", headers=auth, json={
            "name": "Ava", "greeting": "Hi, this is Ava.", "voice": {"stt": "deepgram", "tts": "elevenlabs"}})
        agent.raise_for_status()
        agent_id = agent.json()["id"]
        (await api.post(f"/v1/agents/{agent_id}/publish", headers=auth)).raise_for_status()
        (await api.put(f"/v1/agents/{agent_id}/phone-numbers", headers=auth,
                       json={"numbers": [AGENT_NUMBER]})).raise_for_status()
        yield AfoVoice(platform, twilio, api, auth)
