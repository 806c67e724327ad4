"""voice-media in two worker processes behind one port (``AFO_VOICE_MEDIA_WORKERS=2``) on PostgreSQL, as an
instance is run to use both of its cores: calls admitted by whichever worker took the gateway's request are
streamed to whichever worker took the WebSocket, answered, and recorded, several at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from afo_testkit.platform import Platform, running_platform
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.twilio_server import FakeTwilio
from tests.e2e.journey import Tenant, eventually
from tests.e2e.phone import PUBLIC, answered_turn, media_call, phone_agent, speech, stream_url, voice_webhook

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

AGENT_NUMBER = "+14155550131"
CALLS = 3
WAIT_S = 60.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory, twilio: FakeTwilio,
                   postgres_server: PostgresDatabases | str) -> AsyncIterator[Platform]:
    if isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    home: Path = tmp_path_factory.mktemp("voice-workers")
    async with running_platform(home, services=("gateway", "agent-runtime", "voice-media"), supervise=False,
                                AFO_TWILIO_API_BASE_URL=twilio.base_url, AFO_PUBLIC_URL=PUBLIC,
                                AFO_VOICE_MEDIA_WORKERS="2",
                                AFO_VOICE_MEDIA_DATABASE_URL=await postgres_server.create()) as running:
        yield running


def workers_of(pid: int) -> set[int]:
    """The processes ``pid`` spawned to serve (not multiprocessing's resource tracker)."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(child) for child in (task / "children").read_text().split()}
    return {child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()}


async def call(api: httpx.AsyncClient, twilio: FakeTwilio, tenant: Tenant, index: int, words: bytes) -> None:
    sid, caller = f"CA{index:032d}", f"+1415555030{index}"
    answered = await voice_webhook(api, twilio, {
        "CallSid": sid, "AccountSid": twilio.account_sid, "From": caller, "To": AGENT_NUMBER,
        "Direction": "inbound", "CallStatus": "ringing"})
    async with media_call(stream_url(answered), twilio, sid) as phone:
        assert await phone.wait_for_agent_audio(within=WAIT_S), "no greeting"
        assert await phone.wait_for_agent_silence(within=WAIT_S)
        await phone.say(words)
        assert await phone.wait_for_reply(within=WAIT_S) is not None, "the agent did not answer"
        assert (await answered_turn(api, tenant, caller, WAIT_S))["caller_text"]


async def test_calls_are_carried_by_two_worker_processes_sharing_one_port(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio) -> None:
    pid = platform.pids["voice-media"]
    assert pid is not None and len(workers_of(pid)) == 2
    tenant: Tenant
    tenant, _agent_id = await phone_agent(api, twilio, AGENT_NUMBER, greeting="Hi, this is Ava.")
    words = await speech("What are your opening hours?")
    await asyncio.gather(*(call(api, twilio, tenant, index, words) for index in range(CALLS)))

    listed = await eventually(api, tenant, "/v1/calls", lambda body: len(body["data"]) == CALLS and all(
        c["state"] == "ended" for c in body["data"]), within_s=WAIT_S)
    for record in listed["data"]:
        detail = await eventually(api, tenant, f"/v1/calls/{record['id']}",
                                  lambda body: body["recording"] is not None, within_s=WAIT_S)
        assert detail["turns"] == 1 and detail["transcript"][0]["agent_text"]
