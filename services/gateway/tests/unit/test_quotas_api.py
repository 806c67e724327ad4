"""What a plan allows, enforced at the gateway (a replica built by the composition root, the other services
answered by stand-ins on a real nats-server): a month's messages counted from the gateway's own events then 429
on the API and nothing recorded for an SMS; an agent or a document past what the plan keeps 402; the per-key rate
of the plan 429; voice-media's refusal of a call spoken to a phone caller and 429 to a browser. Each refusal
names the limit, what is allowed and used, and the plan."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.msg import Msg
from twilio.request_validator import RequestValidator

from afo_common.events.conversation import Contact
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs import knowledge_ingest as ki
from afo_common.rpcs import voice_media as vm
from afo_common.rpcs.plan_limits import PlanLimitReached, refused
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

UNLIMITED = dict.fromkeys(("agents", "knowledge_bytes", "messages_per_month", "voice_minutes_per_month",
                           "concurrent_calls", "requests_per_minute"))
AGENT_NUMBER, LEAD = "+14155550100", "+14155550199"
ACCOUNT, TOKEN = "AC" + "a1" * 16, "twilio-auth-token-1234"
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
NOW = datetime.now(UTC)


class Owners:
    """agent-runtime, knowledge-ingest and voice-media as far as these requests ask them."""

    def __init__(self) -> None:
        self.agents = 0
        self.numbers: dict[str, tuple[str, str]] = {}
        self.call_refusal: PlanLimitReached | None = None
        self.asked: list[tuple[str, Any]] = []

    def handlers(self) -> dict[RpcOperation[Any, Any], Any]:
        return {ar.CHECK_CONVERSATION: self.conversation, ar.COUNT_AGENTS: self.count,
                ki.MEASURE_KNOWLEDGE: self.measure, ch.PUT_PHONE_NUMBERS: self.put_numbers,
                ch.RESOLVE_NUMBER: self.resolve, ch.SMS_CONVERSATION: self.for_sms, vm.ADMIT_CALL: self.admit,
                vm.BROWSER_OFFER: self.offer}

    async def conversation(self, r: ar.ConversationRef) -> ar.ConversationView:
        return ar.ConversationView(id=r.conversation_id, agent_id="agt_1", agent_version=1, channel="api",
                                   contact=Contact(), status="open", lead_id=None, created_at=NOW, updated_at=NOW)

    async def count(self, r: ar.CountAgents) -> ar.AgentCount:
        return ar.AgentCount(agents=self.agents)

    async def measure(self, r: ki.MeasureKnowledge) -> ki.KnowledgeSize:
        return ki.KnowledgeSize(documents=1, size_bytes=900)

    async def put_numbers(self, r: ch.PutPhoneNumbers) -> ch.PhoneNumbersView:
        self.numbers.update({n: (r.tenant_id, r.agent_id) for n in r.numbers})
        return ch.PhoneNumbersView(agent_id=r.agent_id, numbers=r.numbers)

    async def resolve(self, r: ch.ResolveNumber) -> ch.NumberOwner:
        tenant, agent = self.numbers[r.number]
        return ch.NumberOwner(tenant_id=tenant, agent_id=agent, number=r.number)

    async def for_sms(self, r: ch.SmsConversation) -> ar.ConversationView:
        return (await self.conversation(ar.ConversationRef(tenant_id=r.tenant_id, conversation_id="conv_sms")))

    async def admit(self, r: vm.AdmitCall) -> vm.AdmittedCall:
        if self.call_refusal is not None:
            raise refused(self.call_refusal, "the plan allows no more calls now")
        return vm.AdmittedCall(call_id="call_1", conversation_id="conv_1", stream_url="wss://voice.test/t")

    async def offer(self, r: vm.BrowserOffer) -> vm.BrowserAnswer:
        assert self.call_refusal is not None
        raise refused(self.call_refusal, "the plan allows no more calls now")


@pytest.fixture
async def owners(connection: NatsConnection) -> Owners:
    stand_in = Owners()
    await answer_rpcs(connection, stand_in.handlers(), stand_in.asked)
    return stand_in


@pytest.fixture
async def received(connection: NatsConnection) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def on(msg: Msg) -> None:
        events.append(json.loads(msg.data))

    await connection.client.subscribe("afo.*.conversation.message_received", cb=on)
    return events


async def on_plan(gateways: Any, service: Any, tenant_id: str, **limits: int) -> None:
    """The tenant on ``pro``, whose limits are ``limits`` (the rest unlimited)."""
    operator = await gateways.operator(service)
    edited = await operator.put("/v1/admin/plans/pro", json={**UNLIMITED, **limits})
    assigned = await operator.put(f"/v1/admin/tenants/{tenant_id}/plan", json={"plan": "pro"})
    assert edited.status_code == assigned.status_code == 200, (edited.text, assigned.text)


async def until(check: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_months_messages_are_counted_as_accepted_and_then_refused_until_it_resets(
        gateways: Any, owners: Owners) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner, other = await gateways.sign_up(client), await gateways.sign_up(client)
    await on_plan(gateways, service, owner.tenant_id, messages_per_month=2)

    for text in ("one", "two"):
        posted = await client.post("/v1/conversations/conv_1/messages", headers=owner.auth, json={"text": text})
        assert posted.status_code == 202, posted.text

    usage = (await client.get("/v1/usage", headers=owner.auth)).json()
    assert {line["limit"]: line["used"] for line in usage["usage"]}["messages_per_month"] == 2  # at once: no lag
    refused_ = await client.post("/v1/conversations/conv_1/messages", headers=owner.auth, json={"text": "three"})
    problem = assert_problem(refused_, 429, "quota-exceeded")
    assert (problem["limit"], problem["allowed"], problem["used"], problem["plan"]) == (
        "messages_per_month", 2, 2, "pro")
    resets_at = datetime.fromisoformat(problem["resets_at"])
    assert resets_at.day == 1 and resets_at > datetime.now(UTC)
    assert abs(int(refused_.headers["retry-after"]) - (resets_at - datetime.now(UTC)).total_seconds()) < 60
    # Another tenant's messages are its own.
    assert (await client.post("/v1/conversations/conv_1/messages", headers=other.auth,
                              json={"text": "hello"})).status_code == 202


async def test_an_sms_over_the_months_messages_is_answered_with_empty_twiml_and_records_nothing(
        gateways: Any, owners: Owners, received: list[dict[str, Any]]) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    await client.put("/v1/integrations/twilio", headers=owner.auth, json={"account_sid": ACCOUNT, "auth_token": TOKEN})
    await client.put("/v1/agents/agt_1/phone-numbers", headers=owner.auth, json={"numbers": [AGENT_NUMBER]})
    await on_plan(gateways, service, owner.tenant_id, messages_per_month=0)
    params = {"MessageSid": "SM0001", "AccountSid": ACCOUNT, "From": LEAD, "To": AGENT_NUMBER, "Body": "Hi"}
    signature = RequestValidator(TOKEN).compute_signature("http://gateway.test/twilio/sms", params)

    answered = await client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})

    assert answered.status_code == 200 and answered.headers["content-type"].startswith("application/xml")
    assert answered.text.endswith("<Response/>")
    await asyncio.sleep(0.3)
    assert received == []
    assert not [name for name, _ in owners.asked if name == ch.SMS_CONVERSATION.name]


async def test_an_sms_is_counted_once_however_often_twilio_sends_it(
        gateways: Any, owners: Owners, received: list[dict[str, Any]]) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    await client.put("/v1/integrations/twilio", headers=owner.auth, json={"account_sid": ACCOUNT, "auth_token": TOKEN})
    await client.put("/v1/agents/agt_1/phone-numbers", headers=owner.auth, json={"numbers": [AGENT_NUMBER]})
    await on_plan(gateways, service, owner.tenant_id, messages_per_month=5)
    params = {"MessageSid": "SM0002", "AccountSid": ACCOUNT, "From": LEAD, "To": AGENT_NUMBER, "Body": "Hi"}
    signature = RequestValidator(TOKEN).compute_signature("http://gateway.test/twilio/sms", params)

    for _ in range(2):
        answered = await client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
        assert answered.status_code == 200, answered.text

    usage = (await client.get("/v1/usage", headers=owner.auth)).json()
    assert {line["limit"]: line["used"] for line in usage["usage"]}["messages_per_month"] == 1

    async def recorded_once() -> bool:
        return len(received) == 1

    await until(recorded_once)


async def test_a_call_voice_media_refuses_is_told_so_and_hung_up_and_a_browser_gets_429(
        gateways: Any, owners: Owners) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    await client.put("/v1/integrations/twilio", headers=owner.auth, json={"account_sid": ACCOUNT, "auth_token": TOKEN})
    await client.put("/v1/agents/agt_1/phone-numbers", headers=owner.auth, json={"numbers": [AGENT_NUMBER]})
    owners.call_refusal = PlanLimitReached(limit="concurrent_calls", allowed=1, used=1, plan="free",
                                           retry_after_s=60)
    params = {"CallSid": "CA0001", "AccountSid": ACCOUNT, "From": LEAD, "To": AGENT_NUMBER, "Direction": "inbound"}
    signature = RequestValidator(TOKEN).compute_signature("http://gateway.test/twilio/voice", params)

    answered = await client.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})
    offered = await client.post("/v1/calls/webrtc/offer", headers=owner.auth, json={"agent_id": "agt_1", "sdp": SDP})

    assert answered.status_code == 200, answered.text
    assert "<Say>" in answered.text and answered.text.endswith("<Hangup /></Response>")
    assert "<Connect>" not in answered.text
    problem = assert_problem(offered, 429, "quota-exceeded")
    assert (problem["limit"], problem["allowed"], problem["used"], problem["plan"], problem["resets_at"]) == (
        "concurrent_calls", 1, 1, "free", None)
    assert offered.headers["retry-after"] == "60"


async def test_an_agent_past_the_plans_agents_is_402_before_agent_runtime_is_asked_to_create_it(
        gateways: Any, owners: Owners) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    await on_plan(gateways, service, owner.tenant_id, agents=1)
    owners.agents = 1

    created = await client.post("/v1/agents", headers=owner.auth, json={"name": "Ava"})

    problem = assert_problem(created, 402, "plan-limit-reached")
    assert (problem["limit"], problem["allowed"], problem["used"], problem["plan"]) == ("agents", 1, 1, "pro")
    assert "retry-after" not in created.headers
    assert not [name for name, _ in owners.asked if name == ar.CREATE_AGENT.name]


async def test_the_plans_request_rate_limits_each_key(gateways: Any, owners: Owners) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    await on_plan(gateways, service, owner.tenant_id, requests_per_minute=3)

    answers = [await client.get("/v1/usage", headers=owner.auth) for _ in range(4)]

    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    problem = assert_problem(answers[3], 429, "quota-exceeded")
    assert (problem["limit"], problem["allowed"], problem["plan"]) == ("requests_per_minute", 3, "pro")
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60
