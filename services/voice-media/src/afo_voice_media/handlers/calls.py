"""Calls as use cases: admitted for the gateway (which checked Twilio's webhook), opened by their media
WebSocket with the one-time ticket and Twilio's signature, their turns posted to the conversation and recorded,
ended; read over RPC.

An outbound call (``handlers/dialing.py``) is admitted like an inbound one when Twilio asks for its TwiML, found
by its CallSid; one that met an answering machine ends with its voicemail left, and one Twilio reports busy,
unanswered, failed or cancelled before any media ends ``failed`` (its ``provider_status`` says which).

A new call (inbound, from a browser, dialled) is refused first when the tenant's plan allows no more calls now
(``handlers/call_limits.py``): the gateway answers a phone caller with a short refusal, a browser with 429.

A call's words go to agent-runtime as the conversation's messages (``conversation.message_received``, channel
``voice``, in order by ``sequence``), so a call is an ordinary conversation: leads, meetings, analysis and CRM
follow as in chat."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from twilio.request_validator import RequestValidator

from afo_common import masking
from afo_common.clock import Clock
from afo_common.credentials import resolve_credential
from afo_common.events.call import CallEnd, CallEnded, CallStarted, CallTurnCompleted, TurnLatency
from afo_common.events.conversation import MessageReceived
from afo_common.ids import new_id
from afo_common.messaging.blobs import recording_blob_name
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs.pages import Page
from afo_common.rpcs.voice_media import (
    AdmitCall,
    AdmittedCall,
    BrowserOffer,
    CallDetail,
    CallRef,
    CallStatusReport,
    CallView,
    ListCalls,
    StatusRecorded,
    TurnView,
    VoicemailMessage,
    VoicemailReached,
)
from afo_voice_media.adapters.call_repository import CallRow, SqlRepositories, TurnRow
from afo_voice_media.handlers.call_limits import check_allowance
from afo_voice_media.handlers.call_session import CallContext, TurnTrace
from afo_voice_media.metrics import observe_turn

log = logging.getLogger(__name__)
SERVICE = "voice-media"
TICKET_TTL = timedelta(minutes=2)
# Twilio's final statuses of a call that was never answered, and of one that ended (answered or not).
UNANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})


class Blobs(Protocol):
    async def put(self, name: str, data: bytes) -> None: ...


class CallNotFound(LookupError):
    pass


class MediaRefused(Exception):
    """The media WebSocket may not open: unknown or used ticket, bad signature, no credentials to check it."""


def _ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class Calls:
    def __init__(self, store: SqlStore[SqlRepositories], units: UnitOfWorkFactory, rpc: RpcClient, clock: Clock,
                 media_url: str, recordings: Blobs) -> None:
        self._store = store
        self._recordings = recordings
        self._units = units
        self._rpc = rpc
        self._clock = clock
        self._media_url = media_url.rstrip("/")

    # -- admission (RPC from the gateway) --------------------------------------------------------------------
    async def admit(self, request: AdmitCall) -> AdmittedCall:
        async with self._store.reading() as repos:
            known = await repos.calls.by_provider_id(request.tenant_id, request.provider_call_id)
        if request.direction == "outbound":
            return await self._admit_dialled(request, known)
        if known is not None and known.state != "admitted":
            raise RpcError("conflict", f"call {request.provider_call_id} is already {known.state}")
        if known is None:  # Twilio asking again for a call it was given is not a new call
            await self.allow(request.tenant_id)
        conversation = await self._rpc.call(ch.CALL_CONVERSATION, ch.CallConversation(
            tenant_id=request.tenant_id, agent_id=request.agent_id, phone=request.caller,
            request_id=f"call_{request.provider_call_id}"[:64]))
        ticket = secrets.token_urlsafe(24)
        now = self._clock.now()
        async with self._store() as uow:
            if known is not None:  # Twilio asked again (a retried webhook): a fresh ticket for the same call
                row = known
                await uow.calls.renew_ticket(known.id, _ticket_hash(ticket), now + TICKET_TTL)
            else:
                row = CallRow(
                    id=new_id("call"), tenant_id=request.tenant_id, agent_id=request.agent_id,
                    conversation_id=conversation.conversation_id, transport="twilio", direction=request.direction,
                    caller=request.caller, called=request.called, provider_call_id=request.provider_call_id,
                    ticket_hash=_ticket_hash(ticket), ticket_expires_at=now + TICKET_TTL, state="admitted",
                    provider_status=None, end_reason=None, greeting=conversation.greeting, voice=conversation.voice,
                    hints=conversation.hints, created_at=now, started_at=None, ended_at=None, duration_s=None,
                    turns=0)
                await uow.calls.add(row)
        return AdmittedCall(call_id=row.id, conversation_id=row.conversation_id,
                            stream_url=f"{self._media_url}/twilio/media/{ticket}")

    async def allow(self, tenant_id: str) -> None:
        """Refused (``afo_common.rpcs.plan_limits``) when the tenant's plan allows it no new call now."""
        await check_allowance(self._store, tenant_id, self._clock)

    async def _admit_dialled(self, request: AdmitCall, known: CallRow | None) -> AdmittedCall:
        """The call ``calls.dial`` placed, answered: its media ticket (again, for a retried webhook)."""
        if known is None or known.direction != "outbound" or known.agent_id != request.agent_id:
            raise CallNotFound(f"no outbound call {request.provider_call_id} of this agent")
        if known.state not in ("dialing", "admitted"):
            raise RpcError("conflict", f"call {request.provider_call_id} is already {known.state}")
        ticket = secrets.token_urlsafe(24)
        async with self._store() as uow:
            await uow.calls.renew_ticket(known.id, _ticket_hash(ticket), self._clock.now() + TICKET_TTL)
        return AdmittedCall(call_id=known.id, conversation_id=known.conversation_id,
                            stream_url=f"{self._media_url}/twilio/media/{ticket}")

    async def voicemail(self, request: VoicemailReached) -> VoicemailMessage:
        """An answering machine took the outbound call: it ends (``voicemail``) and the gateway has Twilio say the
        agent's message. A retried webhook gets the message again."""
        async with self._store.reading() as repos:
            row = await repos.calls.by_provider_id(request.tenant_id, request.provider_call_id)
        if row is None or row.direction != "outbound":
            raise CallNotFound(f"no outbound call {request.provider_call_id}")
        if row.end_reason != "voicemail" and not await self.unanswered(row, "voicemail", request.answered_by):
            raise RpcError("conflict", f"call {request.provider_call_id} is already {row.state}")
        return VoicemailMessage(call_id=row.id, message=str(row.voice.get("voicemail_message") or row.greeting))

    async def unanswered(self, row: CallRow, reason: CallEnd, provider_status: str | None = None) -> bool:
        """Ends a call no media flowed on (``call.ended`` with no ``call.started`` before it); False when its media
        had started or it had ended."""
        now = self._clock.now()
        async with self._store() as uow:
            if not await uow.calls.ended_unanswered(row.tenant_id, row.id, reason, now, provider_status):
                return False
            await uow.emit(CallEnded(call_id=row.id, conversation_id=row.conversation_id, agent_id=row.agent_id,
                                     reason=reason, duration_s=0.0, turns=0, ended_at=now), tenant_id=row.tenant_id)
        return True

    async def admit_browser(self, request: BrowserOffer) -> CallRow:
        """A browser call, in progress from its offer (its peer connection is its authentication)."""
        call_id = new_id("call")
        conversation = await self._rpc.call(ch.CALL_CONVERSATION, ch.CallConversation(
            tenant_id=request.tenant_id, agent_id=request.agent_id, phone=None, request_id=f"webrtc_{call_id}"))
        now = self._clock.now()
        row = CallRow(
            id=call_id, tenant_id=request.tenant_id, agent_id=request.agent_id,
            conversation_id=conversation.conversation_id, transport="webrtc", direction="inbound", caller=None,
            called=None, provider_call_id=None, ticket_hash=None, ticket_expires_at=None, state="in_progress",
            provider_status=None, end_reason=None, greeting=conversation.greeting, voice=conversation.voice,
            hints=conversation.hints, created_at=now, started_at=now, ended_at=None, duration_s=None, turns=0)
        async with self._store() as uow:
            await uow.calls.add(row)
            await uow.emit(_started(row, now), tenant_id=row.tenant_id)
        return row

    async def status(self, request: CallStatusReport) -> StatusRecorded:
        async with self._store() as uow:
            row = await uow.calls.by_provider_id(request.tenant_id, request.provider_call_id)
            if row is None:
                return StatusRecorded(recorded=False)
            await uow.calls.provider_status(request.tenant_id, row.id, request.status)
        if request.status in UNANSWERED or request.status == "completed":
            # Over before any audio: never answered, or answered but its media never connected.
            await self.unanswered(row, "failed" if request.status in UNANSWERED else "dropped", request.status)
        return StatusRecorded(recorded=True, call_id=row.id)

    # -- media (the WebSocket) -------------------------------------------------------------------------------
    async def open_media(self, ticket: str, url: str, signature: str | None) -> CallRow:
        """The admitted call this ticket is for, once Twilio's signature over ``url`` is checked with the
        tenant's auth token; the ticket is spent."""
        now = self._clock.now()
        async with self._store.reading() as repos:
            row = await repos.calls.by_ticket(_ticket_hash(ticket))
        if row is None or row.ticket_expires_at is None or row.ticket_expires_at < now:
            raise MediaRefused("unknown or expired media ticket")
        if not signature:
            raise MediaRefused("X-Twilio-Signature is missing")
        try:
            fields = await resolve_credential(self._rpc, SERVICE, row.tenant_id, "twilio", "check a call's signature")
        except RpcError as exc:
            raise MediaRefused(f"the tenant's Twilio credentials are unavailable: {exc.message}") from exc
        if not fields or not fields.get("auth_token"):
            raise MediaRefused("this tenant has no Twilio credentials to check the signature with")
        if not RequestValidator(fields["auth_token"]).validate(url, {}, signature):
            raise MediaRefused("X-Twilio-Signature does not match this request")
        async with self._store() as uow:
            if not await uow.calls.claim_ticket(row.id, now):
                raise MediaRefused("this media ticket was used already")
            await uow.emit(_started(row, now), tenant_id=row.tenant_id)
        return row

    async def ended(self, call: CallContext, reason: CallEnd, duration_s: float, turns: int) -> None:
        now = self._clock.now()
        async with self._store() as uow:
            await uow.calls.ended(call.tenant_id, call.call_id, reason, now, duration_s, turns)
            await uow.emit(CallEnded(call_id=call.call_id, conversation_id=call.conversation_id,
                                     agent_id=call.agent_id, reason=reason, duration_s=round(duration_s, 3),
                                     turns=turns, ended_at=now), tenant_id=call.tenant_id)

    async def keep_recording(self, call: CallContext, wav: bytes, seconds: float) -> None:
        name = recording_blob_name(call.tenant_id, call.call_id)
        await self._recordings.put(name, wav)
        async with self._store() as uow:
            await uow.calls.recorded(call.tenant_id, call.call_id, name, len(wav), round(seconds, 3))

    # -- turns (the session's Turns) -------------------------------------------------------------------------
    async def post(self, call: CallContext, text: str, sequence: int) -> str:
        message_id = new_id("msg")
        event = MessageReceived(conversation_id=call.conversation_id, message_id=message_id, channel="voice",
                                text=text[:8000], sent_at=self._clock.now(), sequence=sequence)
        async with self._units.hot() as uow:
            await uow.emit(event, tenant_id=call.tenant_id)
        return message_id

    async def completed(self, call: CallContext, turn: TurnTrace) -> None:
        assert turn.message_id is not None
        now = self._clock.now()
        started = now - timedelta(seconds=max(0.0, now.timestamp() - turn.started_wall))
        ended = started + timedelta(seconds=turn.speech_ended_at - turn.speech_started_at)
        latency = turn.latency()
        row = TurnRow(call_id=call.call_id, idx=turn.index, tenant_id=call.tenant_id, caller_text=turn.caller_text,
                      agent_text=turn.agent_text or None, heard_text=turn.heard_text, interrupted=turn.interrupted,
                      message_id=turn.message_id, started_at=started, ended_at=ended,
                      latency=latency.model_dump(mode="json"))
        async with self._store() as uow:
            if added := await uow.calls.add_turn(row):
                await uow.emit(CallTurnCompleted(call_id=call.call_id, conversation_id=call.conversation_id,
                                                 index=turn.index, message_id=turn.message_id,
                                                 interrupted=turn.interrupted, latency=latency),
                               tenant_id=call.tenant_id)
        if added:  # once per turn, however often it is recorded
            observe_turn(latency)

    # -- reads -----------------------------------------------------------------------------------------------
    async def get(self, request: CallRef) -> CallDetail:
        async with self._store.reading() as repos:
            row = await repos.calls.get(request.tenant_id, request.call_id)
            if row is None:
                raise CallNotFound(f"no call {request.call_id}")
            turns = await repos.calls.turns_of(request.tenant_id, row.id)
        return CallDetail(**view_of(row).model_dump(), transcript=[_turn_view(t) for t in turns])

    async def list(self, request: ListCalls) -> Page[CallView]:
        async with self._store.reading() as repos:
            rows = await repos.calls.page(request.tenant_id, request.limit + 1, request.cursor, request.agent_id,
                                          request.conversation_id)
        more = len(rows) > request.limit
        rows = rows[:request.limit]
        return Page[CallView](data=[view_of(r) for r in rows], next_cursor=rows[-1].id if more else None)


def context_of(row: CallRow, voice: str | None = None) -> CallContext:
    return CallContext(call_id=row.id, tenant_id=row.tenant_id, agent_id=row.agent_id,
                       conversation_id=row.conversation_id, greeting=row.greeting, voice=voice)


def _started(row: CallRow, now: datetime) -> CallStarted:
    return CallStarted.model_validate({
        "call_id": row.id, "conversation_id": row.conversation_id, "agent_id": row.agent_id,
        "transport": row.transport, "direction": row.direction,
        "caller": None if row.caller is None else masking.phone(row.caller), "started_at": now})


def view_of(row: CallRow) -> CallView:
    return CallView.model_validate({
        "id": row.id, "agent_id": row.agent_id, "conversation_id": row.conversation_id, "transport": row.transport,
        "direction": row.direction, "caller": row.caller, "called": row.called, "state": row.state,
        "provider_status": row.provider_status, "end_reason": row.end_reason, "created_at": row.created_at,
        "started_at": row.started_at, "ended_at": row.ended_at, "duration_s": row.duration_s, "turns": row.turns,
        "recording": {"name": row.recording, "bytes": row.recording_bytes, "duration_s": row.recording_s}
        if row.recording else None})


def _turn_view(row: TurnRow) -> TurnView:
    return TurnView(index=row.idx, caller_text=row.caller_text, agent_text=row.agent_text,
                    heard_text=row.heard_text, interrupted=row.interrupted, message_id=row.message_id,
                    started_at=row.started_at, ended_at=row.ended_at,
                    latency=TurnLatency.model_validate(row.latency) if row.latency else None)
