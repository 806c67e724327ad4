"""Outbound calls, voicemail and transfers as voice-media's handlers run them: on a migrated SQLite store, with
agent-runtime and the gateway's vault answered by stand-ins on a real nats-server, and Twilio by ``FakeTwilio``
(its Calls REST API over real HTTP); a new call past the tenant's plan refused before anything is made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from afo_common.db import Database
from afo_common.events.call import CallEnded
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, RpcError, RpcOperation
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs import voice_media as vm
from afo_common.rpcs.gateway import RESOLVE_CREDENTIAL, ResolveCredential, ResolvedCredential
from afo_common.rpcs.plan_limits import reached_in
from afo_testkit.clock import SteppingClock
from afo_testkit.nats import nats_server
from afo_testkit.rpc_stand_ins import answer_rpcs
from afo_testkit.stores import committed_events, migrated_database
from afo_testkit.twilio_server import Failure, FakeTwilio
from afo_voice_media.adapters.call_repository import SqlRepositories
from afo_voice_media.adapters.tables import calls, messaging
from afo_voice_media.adapters.twilio_calls import TwilioCalls
from afo_voice_media.domain.call_limits import CallLimits
from afo_voice_media.handlers.call_session import CallContext
from afo_voice_media.handlers.calls import CallNotFound, Calls
from afo_voice_media.handlers.dialing import Dialer
from afo_voice_media.handlers.transfers import Transfers

PUBLIC = "https://afo.example.com"
AGENT_NUMBER = "+14155550123"
LEAD = "+14155550199"
PERSON = "+14155550777"
TENANT = "ten_a"


@dataclass
class StandIns:
    """agent-runtime's numbers and call conversations, and the gateway's vault, as far as these handlers ask."""

    numbers: dict[str, list[str]] = field(default_factory=dict)
    voices: dict[str, dict[str, Any]] = field(default_factory=dict)
    credentials: dict[str, str] | None = None
    conversations: list[ch.CallConversation] = field(default_factory=list)

    async def numbers_of(self, r: ch.PhoneNumbersRef) -> ch.PhoneNumbersView:
        return ch.PhoneNumbersView(agent_id=r.agent_id, numbers=self.numbers.get(r.agent_id, []))

    async def for_call(self, r: ch.CallConversation) -> ch.CallConversationView:
        self.conversations.append(r)
        voice = self.voices.get(r.agent_id, {})
        return ch.CallConversationView(
            conversation_id=f"conv_{len(self.conversations)}", lead_id="lead_1", greeting="Hi, this is Ava.",
            voice={"stt": "embedded", "tts": "embedded", **voice}, hints=["Ava"],
            voicemail_message=voice.get("voicemail_message") or "Hi, this is Ava. I'll try you again soon.")

    async def resolve(self, r: ResolveCredential) -> ResolvedCredential:
        if self.credentials is None:
            raise RpcError("not_found", "no credential")
        return ResolvedCredential(provider=r.provider, fields=self.credentials, key_id="k1")


@dataclass
class Telephony:
    twilio: FakeTwilio
    stand_ins: StandIns
    db: Database
    rpc: RpcClient
    calls: Calls
    dialer: Dialer
    transfers: Transfers

    async def row(self, call_id: str) -> dict[str, Any]:
        async with self.db.session() as session:
            found = (await session.execute(select(calls).where(calls.c.id == call_id))).one()
        return dict(found._mapping)

    async def ended(self) -> list[CallEnded]:
        return [CallEnded.model_validate(e.data) for e in await committed_events(self.db, messaging)
                if e.type.startswith("afo.call.ended")]


class NoRecordings:
    """No call here carries audio, so none is recorded."""

    async def put(self, name: str, data: bytes) -> None:
        raise AssertionError(f"{name} recorded, but no call here had audio")


def build(twilio: FakeTwilio, stand_ins: StandIns, db: Database, rpc: RpcClient,
          public_url: str | None = PUBLIC) -> Telephony:
    units = UnitOfWorkFactory(db, messaging, "voice-media", lambda: None)
    store = SqlStore(units, SqlRepositories)
    clock = SteppingClock()
    handlers = Calls(store, units, rpc, clock, "wss://voice.example.com", NoRecordings())

    def account(fields: dict[str, str]) -> TwilioCalls:
        return TwilioCalls(fields["account_sid"], fields["auth_token"], base_url=twilio.base_url)

    return Telephony(twilio, stand_ins, db, rpc, handlers, Dialer(store, rpc, clock, handlers, account, public_url),
                     Transfers(store, rpc, account))


@pytest.fixture
async def telephony(tmp_path: Path) -> AsyncIterator[Telephony]:
    stand_ins = StandIns()
    async with nats_server(tmp_path / "nats") as server, FakeTwilio() as twilio:
        connection = NatsConnection(server.url, "voice-media-test")
        await connection.connect()
        handlers: dict[RpcOperation[Any, Any], Any] = {
            ch.GET_PHONE_NUMBERS: stand_ins.numbers_of, ch.CALL_CONVERSATION: stand_ins.for_call,
            RESOLVE_CREDENTIAL["voice-media"]: stand_ins.resolve}
        await answer_rpcs(connection, handlers)
        db = await migrated_database("sqlite", tmp_path, "no PostgreSQL here", "afo_voice_media.migrations")
        stand_ins.numbers["agt_1"] = [AGENT_NUMBER]
        stand_ins.credentials = {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token}
        try:
            yield build(twilio, stand_ins, db, RpcClient(connection, timeout_s=5.0))
        finally:
            await db.dispose()
            await connection.close()


def dial(to: str = LEAD, agent_id: str = "agt_1") -> vm.DialCall:
    return vm.DialCall(tenant_id=TENANT, agent_id=agent_id, to=to)


def answered(sid: str, agent_id: str = "agt_1") -> vm.AdmitCall:
    return vm.AdmitCall(tenant_id=TENANT, agent_id=agent_id, provider_call_id=sid, caller=AGENT_NUMBER,
                        called=LEAD, direction="outbound")


async def test_a_call_is_placed_through_twilio_and_admitted_once_answered(telephony: Telephony) -> None:
    view = await telephony.dialer.dial(dial())

    assert (view.direction, view.state, view.transport, view.caller, view.called) == (
        "outbound", "dialing", "twilio", AGENT_NUMBER, LEAD)
    [placed] = telephony.twilio.placed
    assert placed == {
        "To": LEAD, "From": AGENT_NUMBER, "Url": f"{PUBLIC}/twilio/voice",
        "StatusCallback": f"{PUBLIC}/twilio/status?tenant={TENANT}",
        "StatusCallbackEvent": "initiated ringing answered completed", "MachineDetection": "DetectMessageEnd"}
    [sid] = telephony.twilio.calls
    row = await telephony.row(view.id)
    assert row["provider_call_id"] == sid and row["voice"]["voicemail_message"]
    [asked] = telephony.stand_ins.conversations
    assert (asked.phone, asked.agent_id) == (LEAD, "agt_1")

    admitted = await telephony.calls.admit(answered(sid))
    again = await telephony.calls.admit(answered(sid))  # Twilio retried its webhook
    assert admitted.call_id == again.call_id == view.id and admitted.conversation_id == "conv_1"
    assert admitted.stream_url.startswith("wss://voice.example.com/twilio/media/")
    assert admitted.stream_url != again.stream_url
    assert (await telephony.row(view.id))["state"] == "admitted"
    assert len(telephony.stand_ins.conversations) == 1  # admission started no second conversation


async def test_an_outbound_answer_nobody_dialled_is_not_admitted(telephony: Telephony) -> None:
    with pytest.raises(CallNotFound):
        await telephony.calls.admit(answered("CA" + "9" * 32))
    view = await telephony.dialer.dial(dial())
    [sid] = telephony.twilio.calls
    with pytest.raises(CallNotFound):
        await telephony.calls.admit(answered(sid, agent_id="agt_other"))
    assert (await telephony.row(view.id))["state"] == "dialing"


@pytest.mark.parametrize("missing", ["number", "credentials", "token", "public_url"])
async def test_what_a_call_needs_is_checked_before_anything_is_made(telephony: Telephony, missing: str) -> None:
    dialer = telephony.dialer
    if missing == "number":
        telephony.stand_ins.numbers.clear()
    elif missing == "credentials":
        telephony.stand_ins.credentials = None
    elif missing == "token":
        telephony.stand_ins.credentials = {"account_sid": telephony.twilio.account_sid}
    else:
        dialer = build(telephony.twilio, telephony.stand_ins, telephony.db, telephony.rpc, public_url=None).dialer

    with pytest.raises(RpcError) as refused:
        await dialer.dial(dial())

    assert refused.value.code == ("unavailable" if missing == "public_url" else "conflict")
    assert not telephony.twilio.requests and not telephony.stand_ins.conversations
    async with telephony.db.session() as session:
        assert (await session.execute(select(calls))).all() == []


@pytest.mark.parametrize(("failure", "code"), [
    (Failure(401, 20003, "Authenticate"), "conflict"),
    (Failure(400, 21215, "Geo permissions do not allow this call"), "invalid"),
    (Failure(500, 20500, "Internal Server Error"), "unavailable"),
])
async def test_twilio_refusing_the_call_ends_it_failed_and_is_asked_once(
        telephony: Telephony, failure: Failure, code: str) -> None:
    telephony.twilio.fail_next.append(failure)
    with pytest.raises(RpcError) as refused:
        await telephony.dialer.dial(dial())
    assert refused.value.code == code and f"Twilio {failure.code}" in refused.value.message
    assert telephony.twilio.auth_token not in refused.value.message
    assert len(telephony.twilio.requests) == 1 and not telephony.twilio.calls
    [ended] = await telephony.ended()
    assert ended.reason == "failed" and ended.turns == 0
    row = await telephony.row(ended.call_id)
    assert (row["state"], row["end_reason"], row["provider_call_id"]) == ("ended", "failed", None)


async def test_a_wrong_stored_token_is_twilios_401_as_a_conflict(telephony: Telephony) -> None:
    telephony.stand_ins.credentials = {"account_sid": telephony.twilio.account_sid, "auth_token": "not-the-token"}
    with pytest.raises(RpcError) as refused:
        await telephony.dialer.dial(dial())
    assert refused.value.code == "conflict" and "20003" in refused.value.message


async def test_an_answering_machine_gets_the_agents_message_and_the_call_ends(telephony: Telephony) -> None:
    telephony.stand_ins.voices["agt_1"] = {"voicemail_message": "Hi, Ava from Acme here. Call me back!"}
    view = await telephony.dialer.dial(dial())
    [sid] = telephony.twilio.calls
    machine = vm.VoicemailReached(tenant_id=TENANT, provider_call_id=sid, answered_by="machine_end_beep")

    left = await telephony.calls.voicemail(machine)
    again = await telephony.calls.voicemail(machine)  # a retried webhook: the same message, one end

    assert left == again == vm.VoicemailMessage(call_id=view.id, message="Hi, Ava from Acme here. Call me back!")
    [ended] = await telephony.ended()
    assert (ended.call_id, ended.reason, ended.duration_s) == (view.id, "voicemail", 0.0)
    row = await telephony.row(view.id)
    assert (row["state"], row["end_reason"], row["provider_status"]) == ("ended", "voicemail", "machine_end_beep")
    with pytest.raises(RpcError) as late:
        await telephony.calls.admit(answered(sid))
    assert late.value.code == "conflict"
    with pytest.raises(CallNotFound):
        await telephony.calls.voicemail(machine.model_copy(update={"provider_call_id": "CA_unknown"}))


async def test_a_call_twilio_reports_unanswered_ends_failed(telephony: Telephony) -> None:
    view = await telephony.dialer.dial(dial())
    [sid] = telephony.twilio.calls
    for status in ("ringing", "no-answer", "completed"):
        await telephony.calls.status(vm.CallStatusReport(tenant_id=TENANT, provider_call_id=sid, status=status))
    [ended] = await telephony.ended()
    assert ended.reason == "failed"
    row = await telephony.row(view.id)
    assert (row["state"], row["end_reason"], row["provider_status"]) == ("ended", "failed", "completed")


async def _in_progress(telephony: Telephony, voice: dict[str, Any]) -> tuple[CallContext, str]:
    telephony.stand_ins.voices["agt_1"] = voice
    view = await telephony.dialer.dial(dial())
    sid = list(telephony.twilio.calls)[-1]
    await telephony.calls.admit(answered(sid))
    return CallContext(call_id=view.id, tenant_id=TENANT, agent_id="agt_1", conversation_id=view.conversation_id,
                       greeting="Hi", voice=None), sid


async def test_a_handoff_dials_the_agents_person_on_the_live_call(telephony: Telephony) -> None:
    call, sid = await _in_progress(telephony, {"transfer_to": PERSON})

    assert await telephony.transfers(call) is True

    [(updated, form)] = telephony.twilio.updates
    assert updated == sid
    assert form == {"Twiml": f'<?xml version="1.0" encoding="UTF-8"?><Response><Dial>{PERSON}</Dial></Response>'}


async def test_no_transfer_without_a_number_credentials_or_a_call_twilio_knows(telephony: Telephony) -> None:
    call, _ = await _in_progress(telephony, {})
    assert await telephony.transfers(call) is False  # no transfer_to: the agent carries on

    call, sid = await _in_progress(telephony, {"transfer_to": PERSON})
    telephony.stand_ins.credentials = None
    assert await telephony.transfers(call) is False
    telephony.stand_ins.credentials = {"account_sid": telephony.twilio.account_sid,
                                       "auth_token": telephony.twilio.auth_token}
    del telephony.twilio.calls[sid]  # Twilio no longer has it: 404
    assert await telephony.transfers(call) is False
    gone = CallContext(call_id="call_gone", tenant_id=TENANT, agent_id="agt_1", conversation_id="c", greeting="",
                       voice=None)
    assert await telephony.transfers(gone) is False
    offer = vm.BrowserOffer(tenant_id=TENANT, agent_id="agt_1", sdp="v=0\r\n" * 5)
    browser = await telephony.calls.admit_browser(offer)
    assert await telephony.transfers(CallContext(
        call_id=browser.id, tenant_id=TENANT, agent_id="agt_1", conversation_id=browser.conversation_id,
        greeting="", voice=None)) is False  # a browser call has no line to hand on
    assert telephony.twilio.updates == []


async def test_calls_are_listed_by_the_conversation_they_belong_to(telephony: Telephony) -> None:
    view = await telephony.dialer.dial(dial())
    [sid] = telephony.twilio.calls
    await telephony.calls.admit(answered(sid))

    def listing(conversation_id: str, tenant_id: str = TENANT) -> vm.ListCalls:
        return vm.ListCalls(tenant_id=tenant_id, limit=10, conversation_id=conversation_id)

    assert [c.id for c in (await telephony.calls.list(listing("conv_1"))).data] == [view.id]
    assert (await telephony.calls.list(listing("conv_other"))).data == []
    assert (await telephony.calls.list(listing("conv_1", tenant_id="ten_other"))).data == []


async def test_a_new_call_past_the_tenants_plan_is_refused_before_twilio_is_asked(telephony: Telephony) -> None:
    store = SqlStore(UnitOfWorkFactory(telephony.db, messaging, "voice-media", lambda: None), SqlRepositories)
    inbound = vm.AdmitCall(tenant_id=TENANT, agent_id="agt_1", provider_call_id="CA_in", caller=LEAD,
                           called=AGENT_NUMBER)
    admitted = await telephony.calls.admit(inbound)  # no plan heard of yet: taken
    async with store() as uow:
        await uow.limits.keep(TENANT, CallLimits("free", 1, None, 1), datetime.now(UTC))

    with pytest.raises(RpcError) as dialled:
        await telephony.dialer.dial(dial())
    with pytest.raises(RpcError) as another:
        await telephony.calls.admit(inbound.model_copy(update={"provider_call_id": "CA_other"}))
    again = await telephony.calls.admit(inbound)  # Twilio asking again for the call it was given

    for refused in (dialled.value, another.value):
        reached = reached_in(refused)
        assert reached is not None and (reached.limit, reached.used, reached.plan) == ("concurrent_calls", 1, "free")
    assert again.call_id == admitted.call_id
    assert telephony.twilio.placed == []
