"""Twilio's webhooks and agents' phone numbers over HTTP, on a gateway built by the composition root, with
agent-runtime and notifier answered by stand-ins on a real nats-server. Signatures are computed with twilio's
own ``RequestValidator`` for the tenant's stored auth token, never patched."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg
from pydantic import BaseModel
from twilio.request_validator import RequestValidator

from afo_common.events.conversation import Contact
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs import notifier_delivery as nd
from afo_common.rpcs.agent_runtime import ConversationView
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

AGENT_NUMBER = "+14155550100"
LEAD = "+14155550199"
ACCOUNT = "AC" + "a1" * 16
TOKEN = "twilio-auth-token-1234"
URL = "http://gateway.test/twilio/sms"


@dataclass
class Runtime:
    numbers: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: list[tuple[str, BaseModel]] = field(default_factory=list)
    statuses: list[nd.DeliveryStatus] = field(default_factory=list)

    async def put(self, r: ch.PutPhoneNumbers) -> ch.PhoneNumbersView:
        for n in r.numbers:
            if self.numbers.get(n, (r.tenant_id, r.agent_id)) != (r.tenant_id, r.agent_id):
                raise RpcError("conflict", f"{n} is already assigned to another agent")
        for n in r.numbers:
            self.numbers[n] = (r.tenant_id, r.agent_id)
        return ch.PhoneNumbersView(agent_id=r.agent_id, numbers=r.numbers)

    async def get(self, r: ch.PhoneNumbersRef) -> ch.PhoneNumbersView:
        return ch.PhoneNumbersView(agent_id=r.agent_id, numbers=[n for n, o in self.numbers.items()
                                                                 if o == (r.tenant_id, r.agent_id)])

    async def resolve(self, r: ch.ResolveNumber) -> ch.NumberOwner:
        if r.number not in self.numbers:
            raise RpcError("not_found", "phone number not found")
        tenant, agent = self.numbers[r.number]
        return ch.NumberOwner(tenant_id=tenant, agent_id=agent, number=r.number)

    async def for_sms(self, r: ch.SmsConversation) -> ConversationView:
        now = "2026-03-02T14:00:00Z"
        return ConversationView.model_validate({
            "id": "conv_sms1", "agent_id": r.agent_id, "agent_version": 1, "channel": "sms",
            "contact": Contact(phone=r.phone).model_dump(), "status": "open", "lead_id": "lead_1",
            "created_at": now, "updated_at": now})

    async def inbound(self, r: ch.InboundLead) -> ch.InboundLeadView:
        raise RpcError("internal", "not in this test")

    async def status(self, r: nd.DeliveryStatus) -> nd.DeliveryRecorded:
        self.statuses.append(r)
        return nd.DeliveryRecorded(recorded=r.provider_id == "SM_sent", notification_id="ntf_1")


@pytest.fixture
async def runtime(connection: NatsConnection) -> Runtime:
    stand_in = Runtime()
    handlers: dict[RpcOperation[Any, Any], Any] = {
        ch.PUT_PHONE_NUMBERS: stand_in.put, ch.GET_PHONE_NUMBERS: stand_in.get, ch.RESOLVE_NUMBER: stand_in.resolve,
        ch.SMS_CONVERSATION: stand_in.for_sms, ch.INBOUND_LEAD: stand_in.inbound,
        nd.RECORD_DELIVERY_STATUS: stand_in.status}
    await answer_rpcs(connection, handlers, stand_in.calls)
    return stand_in


@pytest.fixture
async def received(connection: NatsConnection) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def on(msg: Msg) -> None:
        events.append(json.loads(msg.data))

    await connection.client.subscribe("afo.*.conversation.message_received", cb=on)
    return events


@pytest.fixture
async def tenant(gateways: Any, runtime: Runtime) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    stored = await client.put("/v1/integrations/twilio", headers=owner.auth, json={
        "account_sid": ACCOUNT, "auth_token": TOKEN, "from_number": AGENT_NUMBER})
    assert stored.status_code == 200, stored.text
    put = await client.put("/v1/agents/agt_1/phone-numbers", headers=owner.auth,
                           json={"numbers": ["+1 (415) 555-0100"]})
    assert put.status_code == 200 and put.json() == {"agent_id": "agt_1", "numbers": [AGENT_NUMBER]}
    return client, owner


def sms(sid: str = "SM0001", body: str = "Hi, is this still available?", **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": LEAD, "To": AGENT_NUMBER,
            "Body": body, "NumMedia": "0", **extra}


def signed(params: dict[str, str], url: str = URL, token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


async def eventually(check: Any, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_signed_sms_becomes_the_leads_message_once(tenant: Any, runtime: Runtime, connection: NatsConnection,
                                                           received: list[dict[str, Any]]) -> None:
    client, owner = tenant
    params = sms()
    first = await client.post("/twilio/sms", data=params, headers=signed(params))
    again = await client.post("/twilio/sms", data=params, headers=signed(params))

    assert first.status_code == again.status_code == 200
    assert first.headers["content-type"].startswith("application/xml") and "<Response/>" in first.text
    await eventually(lambda: len(received) >= 1)
    await asyncio.sleep(0.3)
    # Published twice at most (the relay had sent the first), stored once: the event id is the SID's.
    assert len({e["id"] for e in received}) == 1
    subject = f"afo.{owner.tenant_id}.conversation.message_received"
    info = await connection.js.stream_info("CONVERSATION", subjects_filter=subject)
    assert info.state.subjects == {subject: 1}
    event = received[0]
    assert event["tenantid"] == owner.tenant_id and event["type"] == "afo.conversation.message_received.v1"
    assert event["data"]["channel"] == "sms" and event["data"]["text"] == "Hi, is this still available?"
    assert event["data"]["reply_route"] == {"channel": "sms", "to": LEAD, "sender": AGENT_NUMBER}
    asked = [r for name, r in runtime.calls if name == ch.SMS_CONVERSATION.name]
    assert isinstance(asked[0], ch.SmsConversation) and (asked[0].phone, asked[0].request_id) == (LEAD, "sms_SM0001")


async def test_bad_missing_or_foreign_signatures_are_403_and_unknown_numbers_404(
    tenant: Any, received: list[dict[str, Any]]
) -> None:
    client, _ = tenant
    params = sms()
    assert_problem(await client.post("/twilio/sms", data=params), 403)
    assert_problem(await client.post("/twilio/sms", data=params, headers=signed(params, token="another-token")), 403)
    tampered = {**params, "Body": "something else"}
    assert_problem(await client.post("/twilio/sms", data=tampered, headers=signed(params)), 403)
    elsewhere = signed(params, url="http://gateway.test/other")
    assert_problem(await client.post("/twilio/sms", data=params, headers=elsewhere), 403)
    other_account = sms(AccountSid="AC" + "b2" * 16)
    assert_problem(await client.post("/twilio/sms", data=other_account, headers=signed(other_account)), 403)
    unknown = sms(To="+14155550111")
    assert_problem(await client.post("/twilio/sms", data=unknown, headers=signed(unknown)), 404)
    await asyncio.sleep(0.3)
    assert received == []


async def test_a_tenant_without_twilio_credentials_is_refused(gateways: Any, runtime: Runtime) -> None:
    service = await gateways.start()
    client: httpx.AsyncClient = await gateways.client(service)
    owner = await gateways.sign_up(client)
    await client.put("/v1/agents/agt_2/phone-numbers", headers=owner.auth, json={"numbers": ["+14155550122"]})
    params = sms(To="+14155550122")
    assert_problem(await client.post("/twilio/sms", data=params, headers=signed(params)), 403)


async def test_the_public_url_setting_is_what_the_signature_covers(
    gateways: Any, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFO_PUBLIC_URL", "https://afo.example.com/")
    service = await gateways.start()
    client: httpx.AsyncClient = await gateways.client(service)
    owner = await gateways.sign_up(client)
    await client.put("/v1/integrations/twilio", headers=owner.auth, json={"account_sid": ACCOUNT, "auth_token": TOKEN})
    await client.put("/v1/agents/agt_3/phone-numbers", headers=owner.auth, json={"numbers": ["+14155550133"]})
    params = sms(To="+14155550133", sid="SM0303")
    assert_problem(await client.post("/twilio/sms", data=params, headers=signed(params)), 403)
    ok = await client.post("/twilio/sms", data=params,
                           headers=signed(params, url="https://afo.example.com/twilio/sms"))
    assert ok.status_code == 200


async def test_phone_numbers_are_validated_and_a_taken_one_is_409(gateways: Any, runtime: Runtime) -> None:
    service = await gateways.start()
    client: httpx.AsyncClient = await gateways.client(service)
    ours, theirs = await gateways.sign_up(client), await gateways.sign_up(client)
    await client.put("/v1/agents/agt_1/phone-numbers", headers=ours.auth, json={"numbers": [AGENT_NUMBER]})
    invalid = assert_problem(await client.put("/v1/agents/agt_1/phone-numbers", headers=ours.auth,
                                              json={"numbers": ["4155550100", "+1 not a number"]}), 422)
    assert [e["loc"] for e in invalid["errors"]] == [["body", "numbers", 0], ["body", "numbers", 1]]
    assert_problem(await client.put("/v1/agents/agt_9/phone-numbers", headers=theirs.auth,
                                    json={"numbers": [AGENT_NUMBER]}), 409)
    assert_problem(await client.put("/v1/agents/agt_1/phone-numbers", json={"numbers": []}), 401)
    listed = await client.get("/v1/agents/agt_1/phone-numbers", headers=ours.auth)
    assert listed.json()["numbers"] == [AGENT_NUMBER]


async def test_delivery_reports_are_checked_and_forwarded(tenant: Any, runtime: Runtime) -> None:
    client, owner = tenant
    url = f"http://gateway.test/twilio/status?tenant={owner.tenant_id}"
    params = {"MessageSid": "SM_sent", "MessageStatus": "undelivered", "ErrorCode": "30003",
              "AccountSid": ACCOUNT, "From": "+14155550000", "To": LEAD}
    ok = await client.post(f"/twilio/status?tenant={owner.tenant_id}", data=params, headers=signed(params, url))
    assert ok.status_code == 204
    assert [(s.tenant_id, s.provider_id, s.status, s.error_code) for s in runtime.statuses] == [
        (owner.tenant_id, "SM_sent", "undelivered", "30003")]
    assert_problem(await client.post(f"/twilio/status?tenant={owner.tenant_id}", data=params,
                                      headers=signed(params)), 403)
    # Without ?tenant=, the number it was sent from names the tenant.
    from_agent = {**params, "From": AGENT_NUMBER, "MessageStatus": "delivered", "ErrorCode": ""}
    direct = "http://gateway.test/twilio/status"
    assert (await client.post("/twilio/status", data=from_agent, headers=signed(from_agent, direct))).status_code == 204
    assert runtime.statuses[-1].status == "delivered" and runtime.statuses[-1].error_code is None
