"""What the phone e2e tests share: a platform whose Twilio is the local stand-in, a tenant whose agent has a
number and the tenant's Twilio credentials, Twilio's signed voice webhook, and a caller's speech."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from afo_testkit.media_streams import MediaStreamCall, twilio_signature
from afo_testkit.twilio_server import FakeTwilio
from afo_voice_media.adapters.espeak_tts import EspeakTts
from afo_voice_media.domain.audio import pcm_bytes_to_ulaw
from tests.e2e.journey import Tenant, eventually, published_agent, sign_up

PUBLIC = "https://afo.example.com"  # the address Twilio signs (AFO_PUBLIC_URL)


async def phone_agent(api: httpx.AsyncClient, twilio: FakeTwilio, number: str, **spec: Any) -> tuple[Tenant, str]:
    """A new tenant with its Twilio credentials and a published agent answering ``number``."""
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, **spec)
    stored = await api.put("/v1/integrations/twilio", headers=tenant.auth, json={
        "account_sid": twilio.account_sid, "auth_token": twilio.auth_token, "from_number": number})
    assert stored.status_code == 200, stored.text
    put = await api.put(f"/v1/agents/{agent_id}/phone-numbers", headers=tenant.auth, json={"numbers": [number]})
    assert put.status_code == 200, put.text
    return tenant, agent_id


async def voice_webhook(api: httpx.AsyncClient, twilio: FakeTwilio, params: Mapping[str, str],
                        token: str | None = None) -> httpx.Response:
    """Twilio asking for a call's TwiML, signed as Twilio signs it (with ``token``, else the tenant's)."""
    signature = RequestValidator(token or twilio.auth_token).compute_signature(f"{PUBLIC}/twilio/voice", params)
    return await api.post("/twilio/voice", data=dict(params), headers={"X-Twilio-Signature": signature})


def stream_url(twiml: httpx.Response) -> str:
    assert twiml.status_code == 200, twiml.text
    found = re.search(r'<Stream url="([^"]+)"', twiml.text)
    assert found and "<Connect>" in twiml.text, twiml.text
    return found.group(1)


def media_call(url: str, twilio: FakeTwilio, sid: str) -> MediaStreamCall:
    """Twilio's side of the call's media stream, its upgrade signed."""
    return MediaStreamCall(url, call_sid=sid, account_sid=twilio.account_sid,
                           headers={"X-Twilio-Signature": twilio_signature(twilio.auth_token, url)})


async def speech(text: str) -> bytes:
    """``text`` as a caller's phone line carries it: espeak-ng at 8 kHz, μ-law."""
    pcm = b"".join([chunk async for chunk in EspeakTts().speak(text, 8000, None)])
    return pcm_bytes_to_ulaw(pcm)


async def answered_turn(api: httpx.AsyncClient, tenant: Tenant, caller: str, within_s: float) -> dict[str, Any]:
    """The first turn of ``caller``'s live call, once the agent's answer to it is recorded: what a test waits for
    before hanging up (agent audio alone may be the greeting's last words, late on a busy machine)."""
    listed = await eventually(api, tenant, "/v1/calls", lambda body: any(
        c["caller"] == caller for c in body["data"]), within_s=within_s)
    return await answered_turn_of(api, tenant, next(c["id"] for c in listed["data"] if c["caller"] == caller),
                                  within_s)


async def answered_turn_of(api: httpx.AsyncClient, tenant: Tenant, call_id: str, within_s: float) -> dict[str, Any]:
    """The first turn of the live call ``call_id``, once the agent's answer to it is recorded."""
    detail = await eventually(api, tenant, f"/v1/calls/{call_id}", lambda body: any(
        turn["agent_text"] for turn in body["transcript"]), within_s=within_s)
    turn: dict[str, Any] = detail["transcript"][0]
    return turn
