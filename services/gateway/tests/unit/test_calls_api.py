"""Outbound calls and Twilio's voice webhook over HTTP, on a gateway built by the composition root, with
agent-runtime and voice-media answered by stand-ins on a real nats-server: ``POST /v1/calls`` checks the number
and forwards ``calls.dial``; an answered outbound call is admitted as the agent's (``From``) with the lead
(``To``); an answering machine gets the agent's voicemail message as TwiML ``<Say>`` then ``<Hangup/>``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from twilio.request_validator import RequestValidator

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs import voice_media as vm
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

AGENT_NUMBER = "+14155550100"
LEAD = "+14155550199"
ACCOUNT = "AC" + "a1" * 16
TOKEN = "twilio-auth-token-1234"
VOICE_URL = "http://gateway.test/twilio/voice"
SID = "CA" + "c3" * 16


@dataclass
class StandIns:
    asked: list[tuple[str, BaseModel]] = field(default_factory=list)
    refuse_dial: RpcError | None = None
    tenant_id: str = ""  # the signed-up tenant, owner of AGENT_NUMBER

    async def resolve(self, r: ch.ResolveNumber) -> ch.NumberOwner:
        if r.number != AGENT_NUMBER:
            raise RpcError("not_found", "phone number not found")
        return ch.NumberOwner(tenant_id=self.tenant_id, agent_id="agt_1", number=r.number)

    async def dial(self, r: vm.DialCall) -> vm.CallView:
        if self.refuse_dial is not None:
            raise self.refuse_dial
        return vm.CallView(id="call_1", agent_id=r.agent_id, conversation_id="conv_1", transport="twilio",
                           direction="outbound", caller=AGENT_NUMBER, called=r.to, state="dialing",
                           provider_status=None, end_reason=None, created_at=datetime(2026, 3, 2, tzinfo=UTC),
                           started_at=None, ended_at=None, duration_s=None, turns=0)

    async def admit(self, r: vm.AdmitCall) -> vm.AdmittedCall:
        return vm.AdmittedCall(call_id="call_1", conversation_id="conv_1",
                               stream_url="wss://voice.example.com/twilio/media/ticket1")

    async def voicemail(self, r: vm.VoicemailReached) -> vm.VoicemailMessage:
        return vm.VoicemailMessage(call_id="call_1", message="Hi, this is Ava & co. Call me back!")

    def requests(self, op: RpcOperation[Any, Any]) -> list[Any]:
        return [r for name, r in self.asked if name == op.name]


@pytest.fixture
async def stand_ins(connection: NatsConnection) -> StandIns:
    stand_in = StandIns()
    handlers: dict[RpcOperation[Any, Any], Any] = {
        ch.RESOLVE_NUMBER: stand_in.resolve, vm.DIAL_CALL: stand_in.dial, vm.ADMIT_CALL: stand_in.admit,
        vm.LEAVE_VOICEMAIL: stand_in.voicemail}
    await answer_rpcs(connection, handlers, stand_in.asked)
    return stand_in


@pytest.fixture
async def tenant(gateways: Any, stand_ins: StandIns) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    stand_ins.tenant_id = owner.tenant_id
    stored = await client.put("/v1/integrations/twilio", headers=owner.auth, json={
        "account_sid": ACCOUNT, "auth_token": TOKEN, "from_number": AGENT_NUMBER})
    assert stored.status_code == 200, stored.text
    return client, owner


def answered(**extra: str) -> dict[str, str]:
    return {"CallSid": SID, "AccountSid": ACCOUNT, "From": AGENT_NUMBER, "To": LEAD, "Direction": "outbound-api",
            "CallStatus": "in-progress", **extra}


def signed(params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(VOICE_URL, params)}


async def test_a_call_is_dialled_to_the_normalised_number_once_per_idempotency_key(
        tenant: Any, stand_ins: StandIns) -> None:
    client, owner = tenant
    headers = {**owner.auth, "Idempotency-Key": "dial-1"}
    first = await client.post("/v1/calls", headers=headers, json={"agent_id": "agt_1", "to": "+1 (415) 555-0199"})
    again = await client.post("/v1/calls", headers=headers, json={"agent_id": "agt_1", "to": "+1 (415) 555-0199"})

    assert first.status_code == again.status_code == 201, first.text
    assert first.json()["state"] == "dialing" and first.json()["called"] == LEAD and first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    [asked] = stand_ins.requests(vm.DIAL_CALL)
    assert (asked.tenant_id, asked.agent_id, asked.to) == (owner.tenant_id, "agt_1", LEAD)


async def test_a_bad_number_or_body_is_422_and_refusals_keep_their_status(tenant: Any, stand_ins: StandIns) -> None:
    client, owner = tenant
    invalid = assert_problem(await client.post("/v1/calls", headers=owner.auth,
                                               json={"agent_id": "agt_1", "to": "4155550199"}), 422)
    assert [e["loc"] for e in invalid["errors"]] == [["body", "to"]]
    assert_problem(await client.post("/v1/calls", headers=owner.auth,
                                     json={"agent_id": "agt_1", "to": LEAD, "from": AGENT_NUMBER}), 422)
    assert_problem(await client.post("/v1/calls", json={"agent_id": "agt_1", "to": LEAD}), 401)
    assert stand_ins.requests(vm.DIAL_CALL) == []
    stand_ins.refuse_dial = RpcError("conflict", "this tenant has no Twilio credentials to call with")
    refused = assert_problem(await client.post("/v1/calls", headers=owner.auth,
                                               json={"agent_id": "agt_1", "to": LEAD}), 409)
    assert "Twilio credentials" in refused["detail"]


async def test_an_answered_outbound_call_is_the_agents_and_streams_to_voice_media(
        tenant: Any, stand_ins: StandIns) -> None:
    client, owner = tenant
    params = answered(AnsweredBy="human")
    response = await client.post("/twilio/voice", data=params, headers=signed(params))

    assert response.status_code == 200, response.text
    assert '<Connect><Stream url="wss://voice.example.com/twilio/media/ticket1">' in response.text
    [admitted] = stand_ins.requests(vm.ADMIT_CALL)
    assert (admitted.tenant_id, admitted.agent_id, admitted.direction, admitted.caller, admitted.called) == (
        owner.tenant_id, "agt_1", "outbound", AGENT_NUMBER, LEAD)
    assert stand_ins.requests(vm.LEAVE_VOICEMAIL) == []
    unsigned = answered(AnsweredBy="unknown")
    assert_problem(await client.post("/twilio/voice", data=unsigned, headers=signed(params)), 403)


@pytest.mark.parametrize("machine", ["machine_end_beep", "machine_end_silence", "machine_end_other"])
async def test_an_answering_machine_hears_the_voicemail_and_the_call_hangs_up(
        tenant: Any, stand_ins: StandIns, machine: str) -> None:
    client, owner = tenant
    params = answered(AnsweredBy=machine)
    response = await client.post("/twilio/voice", data=params, headers=signed(params))

    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert response.text == ('<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi, this is Ava &amp; co. '
                             'Call me back!</Say><Hangup /></Response>')
    [left] = stand_ins.requests(vm.LEAVE_VOICEMAIL)
    assert (left.tenant_id, left.provider_call_id, left.answered_by) == (owner.tenant_id, SID, machine)
    assert stand_ins.requests(vm.ADMIT_CALL) == []
