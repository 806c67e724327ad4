"""Traces exported over OTLP by real processes to a local collector endpoint:

- one chat turn with a knowledge search is one trace across the services it touches: the gateway's HTTP request,
  agent-runtime's handling of the message (the event's ``traceparent``) and knowledge-ingest's search (the RPC's);
- each turn of a phone call (Twilio Media Streams) is a trace of its own: voice-media's ``voice turn`` root, its
  ``stt``, ``agent`` and ``tts`` stages, and agent-runtime's handling of the caller's message, with no orphan;
- a call to a provider (the tenant's HubSpot, as the lead reaches the CRM) is a client span of the event that caused
  it, in the trace of the chat turn that qualified the lead, with the provider, host and status and no credential."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from afo_testkit.crm_servers import FakeHubSpot
from afo_testkit.local_server import serving
from afo_testkit.otlp_receiver import OtlpReceiver, ReceivedSpan
from afo_testkit.platform import Platform, running_platform
from afo_testkit.twilio_server import FakeTwilio
from tests.e2e.journey import FIVE_TURNS, conversation, eventually, published_agent, say, sign_up
from tests.e2e.phone import PUBLIC, media_call, phone_agent, speech, stream_url, voice_webhook
from tests.e2e.test_knowledge import knowledge_base, settled, upload

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PAGE = b"# Plans\n\nThe Growth plan costs $199 per month, billed monthly.\n"
AGENT_NUMBER = "+14155550131"
CALL_WAIT_S = 40.0
STAGES = {"stt", "agent", "tts"}
HUBSPOT_TOKEN = "pat-na1-traces-3131"
CLIENT = 3  # OTLP's SpanKind


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def receiver() -> AsyncIterator[tuple[OtlpReceiver, int]]:
    collector = OtlpReceiver()
    async with serving(collector.app()) as port:
        yield collector, port


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory, receiver: tuple[OtlpReceiver, int],
                   twilio: FakeTwilio) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path_factory.mktemp("platform"),
                                services=("gateway", "agent-runtime", "knowledge-ingest", "voice-media",
                                          "workflow-executor"),
                                OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{receiver[1]}",
                                OTEL_BSP_SCHEDULE_DELAY="100", AFO_PUBLIC_URL=PUBLIC,
                                AFO_TWILIO_API_BASE_URL=twilio.base_url) as running:
        yield running


async def test_a_chat_turn_with_a_knowledge_search_is_one_trace_across_three_services(
        api: httpx.AsyncClient, receiver: tuple[OtlpReceiver, int]) -> None:
    collector = receiver[0]
    tenant = await sign_up(api)
    kb_id = await knowledge_base(api, tenant)
    document = await upload(api, tenant, kb_id, "plans.md", PAGE, "text/markdown")
    assert (await settled(api, tenant, kb_id, document["id"]))["status"] == "ready"
    conversation_id = await conversation(api, tenant, await published_agent(api, tenant, knowledge_base_ids=[kb_id]))

    reply = await say(api, tenant, conversation_id, "How much does the Growth plan cost?")
    assert reply["reply"]["citations"], reply

    def turn() -> list[ReceivedSpan]:
        for span in collector.spans:
            handled = span.name.startswith("consume ") and "message_received" in span.name
            if span.service == "afo-agent-runtime" and handled:
                return collector.trace_of(span)
        return []

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15.0
    while not {"afo-gateway", "afo-agent-runtime", "afo-knowledge-ingest"} <= {s.service for s in turn()}:
        assert loop.time() < deadline, f"spans: {sorted({(s.service, s.name) for s in collector.spans})}"
        await asyncio.sleep(0.2)
    spans = turn()
    [root] = [s for s in spans if not s.parent_span_id]
    assert root.service == "afo-gateway" and "/messages" in root.name
    ids = {s.span_id for s in spans}
    assert all(s.parent_span_id in ids for s in spans if s is not root)  # one tree, no orphan
    assert any(s.service == "afo-knowledge-ingest" and s.name.startswith("rpc ") for s in spans)


def orphans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    ids = {s.span_id for s in spans}
    return [s for s in spans if s.parent_span_id and s.parent_span_id not in ids]


async def test_each_turn_of_a_phone_call_is_one_trace_of_voice_media_and_agent_runtime(
        api: httpx.AsyncClient, receiver: tuple[OtlpReceiver, int], twilio: FakeTwilio) -> None:
    collector = receiver[0]
    tenant, _agent_id = await phone_agent(api, twilio, AGENT_NUMBER, greeting="Hi, this is Ava from Acme.")
    sid = "CA" + "7" * 32
    twiml = await voice_webhook(api, twilio, {
        "CallSid": sid, "AccountSid": twilio.account_sid, "From": "+14155550142", "To": AGENT_NUMBER,
        "Direction": "inbound", "CallStatus": "ringing"})
    async with media_call(stream_url(twiml), twilio, sid) as call:
        assert await call.wait_for_agent_audio(within=CALL_WAIT_S), "no greeting"
        assert await call.wait_for_agent_silence(within=CALL_WAIT_S)
        for words in ("Hello, my name is Dana Smith.", "I work at Northwind Traders."):
            await call.say(await speech(words))
            assert await call.wait_for_reply(within=CALL_WAIT_S), f"no answer to {words!r}"
            assert await call.wait_for_agent_silence(within=CALL_WAIT_S)
    listed = (await api.get("/v1/calls", headers=tenant.auth)).json()["data"]
    record = await eventually(api, tenant, f"/v1/calls/{listed[0]['id']}", lambda b: b["state"] == "ended",
                              within_s=CALL_WAIT_S)
    message_ids = [turn["message_id"] for turn in record["transcript"]]
    assert len(message_ids) == 2, record

    def turn_trace(message_id: str) -> list[ReceivedSpan]:
        for span in collector.spans:
            if span.name == "voice turn" and span.attributes.get("afo.message_id") == message_id:
                return collector.trace_of(span)
        return []

    def complete(spans: list[ReceivedSpan]) -> bool:
        handled = any(s.service == "afo-agent-runtime" and "message_received" in s.name for s in spans)
        return handled and {s.name for s in spans} >= STAGES and not orphans(spans)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15.0
    while not all(complete(turn_trace(m)) for m in message_ids):
        seen = [[(s.service, s.name, s.parent_span_id) for s in turn_trace(m)] for m in message_ids]
        assert loop.time() < deadline, f"the turns' spans (service, name, parent): {seen}"
        await asyncio.sleep(0.2)
    traces = [turn_trace(m) for m in message_ids]
    assert len({spans[0].trace_id for spans in traces}) == 2  # a trace per turn, not one for the call
    for index, spans in enumerate(traces):
        [root] = [s for s in spans if not s.parent_span_id]
        assert (root.service, root.name) == ("afo-voice-media", "voice turn")
        assert root.attributes["afo.turn_index"] == index and root.attributes["afo.call_id"] == record["id"]
        assert root.links, "the turn links to its call's span"
        assert not orphans(spans)
        stages = [s for s in spans if s.name in STAGES]
        assert sorted(s.name for s in stages) == sorted(STAGES)
        assert all(s.parent_span_id == root.span_id and s.service == "afo-voice-media" for s in stages)
        for stage in ("stt_final_ms", "first_reply_delta_ms", "first_tts_audio_ms", "first_audio_out_ms"):
            latency = root.attributes[f"afo.voice.{stage}"]
            assert isinstance(latency, float) and latency >= 0, (stage, latency)
        [handled] = [s for s in spans if s.service == "afo-agent-runtime" and s.name.startswith("consume ")
                     and "message_received" in s.name]
        assert handled.parent_span_id == root.span_id  # the caller's message, posted in the turn


async def test_a_crm_sync_is_a_client_span_of_the_event_that_caused_it_in_the_chat_turns_trace(
        api: httpx.AsyncClient, receiver: tuple[OtlpReceiver, int]) -> None:
    collector = receiver[0]
    tenant = await sign_up(api)
    async with FakeHubSpot(secret=HUBSPOT_TOKEN) as hubspot:
        put = await api.put("/v1/integrations/hubspot", headers=tenant.auth,
                            json={"access_token": HUBSPOT_TOKEN, "base_url": hubspot.base_url})
        assert put.status_code == 200, put.text
        conversation_id = await conversation(api, tenant, await published_agent(api, tenant))
        for text in FIVE_TURNS:
            await say(api, tenant, conversation_id, text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15.0
        while not hubspot.contacts:
            assert loop.time() < deadline, "the lead never reached HubSpot"
            await asyncio.sleep(0.1)

    def synced() -> list[ReceivedSpan]:
        return [s for s in collector.spans if s.kind == CLIENT and s.attributes.get("afo.provider") == "hubspot"
                and any(t.attributes.get("afo.tenant_id") == tenant.id for t in collector.trace_of(s))]

    deadline = loop.time() + 15.0
    while not synced() or any(orphans(collector.trace_of(s)) for s in synced()):
        assert loop.time() < deadline, f"spans: {sorted({(s.service, s.name) for s in collector.spans})}"
        await asyncio.sleep(0.2)
    calls = synced()
    # A try that got no answer (the stand-in slow on a busy machine) has no status but its error's type; the sync
    # got through, so some tries were answered.
    answered = [c.attributes["http.response.status_code"] for c in calls if "http.response.status_code" in c.attributes]
    assert answered and all(isinstance(s, int) and 200 <= s < 300 for s in answered), [c.attributes for c in calls]
    assert all("error.type" in c.attributes for c in calls if "http.response.status_code" not in c.attributes), [
        c.attributes for c in calls]
    for call in calls:
        spans = collector.trace_of(call)
        assert call.service == "afo-workflow-executor" and call.name.endswith(" hubspot")
        assert call.attributes["server.address"] == "127.0.0.1"
        [cause] = [s for s in spans if s.span_id == call.parent_span_id]
        assert cause.service == "afo-workflow-executor" and cause.name.startswith("consume afo.lead.")
        [root] = [s for s in spans if not s.parent_span_id]
        assert root.service == "afo-gateway" and "/messages" in root.name  # the chat turn that made the lead
        assert not orphans(spans)
        assert all(HUBSPOT_TOKEN not in str(value) for s in spans for value in s.attributes.values())
