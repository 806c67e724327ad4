"""RPC contracts of voice-media: admitting a phone call the gateway accepted from Twilio (``POST /twilio/voice``),
dialling a lead (an outbound call through Twilio's REST API) and leaving a message on the answering machine it
met, answering a browser's WebRTC offer, recording Twilio's call status reports, and reading calls with their
turns.

A call is admitted before any audio: voice-media starts its conversation with agent-runtime and answers the
address Twilio must open the media WebSocket at. That address holds a one-time ticket, so the WebSocket is bound
to the call the gateway checked (and its ``X-Twilio-Signature`` is checked again on the upgrade)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from afo_common.events.call import CallDirection, CallEnd, CallTransport, TurnLatency
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "voice-media"
E164 = r"^\+[1-9][0-9]{6,15}$"
# An outbound call is "dialing" from its request to Twilio until Twilio asks for its TwiML (answered).
CallState = Literal["dialing", "admitted", "in_progress", "ended"]


class AdmitCall(TenantRequest):
    agent_id: str = Field(max_length=64)
    provider_call_id: str = Field(min_length=1, max_length=64)  # Twilio's CallSid
    # Who called whom: for an inbound call the lead (None when withheld) and the agent's number; for an outbound
    # one (a call ``calls.dial`` made, found by its CallSid) the agent's number and the lead.
    caller: str | None = Field(default=None, pattern=E164)
    called: str = Field(pattern=E164)
    direction: CallDirection = "inbound"


class AdmittedCall(BaseModel):
    call_id: str
    conversation_id: str
    stream_url: str  # ws(s)://…/twilio/media/<ticket>


class DialCall(TenantRequest):
    """An outbound call from the agent's first phone number to a lead, placed through the tenant's Twilio
    account. Refused (``conflict``) before anything is made when the tenant has no Twilio credentials or the
    agent no number."""

    agent_id: str = Field(max_length=64)
    to: str = Field(pattern=E164)


class VoicemailReached(TenantRequest):
    """Twilio's answering machine detection found a machine at the end of its greeting on an outbound call: the
    agent leaves its message and the call ends (``voicemail``)."""

    provider_call_id: str = Field(min_length=1, max_length=64)
    answered_by: str = Field(max_length=32)  # machine_end_beep, machine_end_silence, machine_end_other


class VoicemailMessage(BaseModel):
    call_id: str
    message: str


class BrowserOffer(TenantRequest):
    """A browser's WebRTC offer to talk to an agent (the widget's voice button), forwarded by the gateway once the
    publishable key and its origin were checked. The answer carries voice-media's own ICE candidates: the audio
    flows between the browser and voice-media, never through the gateway."""

    agent_id: str = Field(max_length=64)
    sdp: str = Field(min_length=20, max_length=20000)


class BrowserAnswer(BaseModel):
    call_id: str
    conversation_id: str
    sdp: str
    type: Literal["answer"] = "answer"


class CallStatusReport(TenantRequest):
    """Twilio's status callback for a call, forwarded by the gateway after it checked the signature."""

    provider_call_id: str = Field(min_length=1, max_length=64)
    status: str = Field(min_length=1, max_length=32)  # queued, ringing, in-progress, completed, busy, no-answer…
    duration_s: int | None = Field(default=None, ge=0)
    answered_by: str | None = Field(default=None, max_length=32)  # AMD: human, machine_start, fax…


class StatusRecorded(BaseModel):
    recorded: bool
    call_id: str | None = None


class CallRef(TenantRequest):
    call_id: str = Field(max_length=64)


class ListCalls(PageRequest):
    agent_id: str | None = Field(default=None, max_length=64)
    conversation_id: str | None = Field(default=None, max_length=64)


class TurnView(BaseModel):
    index: int
    # What the caller said (the recogniser's words) and what the agent said and the caller heard: cut short
    # where the caller spoke over it.
    caller_text: str
    agent_text: str | None
    heard_text: str | None
    interrupted: bool
    message_id: str | None
    started_at: datetime   # the caller started speaking
    ended_at: datetime     # the caller stopped speaking
    latency: TurnLatency | None


class RecordingView(BaseModel):
    """The call's recording: caller left, agent right, stereo μ-law WAV; read at ``GET /v1/calls/{id}/recording``."""

    name: str
    bytes: int
    duration_s: float


class CallView(BaseModel):
    id: str
    agent_id: str
    conversation_id: str
    transport: CallTransport
    direction: CallDirection
    caller: str | None
    called: str | None = None
    state: CallState
    provider_status: str | None
    end_reason: CallEnd | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    turns: int
    recording: RecordingView | None = None


class CallDetail(CallView):
    transcript: list[TurnView]


def _op(name: str, request: type[Any], response: type[Any]) -> RpcOperation[Any, Any]:
    return RpcOperation(SERVICE, name, request, response)


ADMIT_CALL: RpcOperation[AdmitCall, AdmittedCall] = _op("calls.admit", AdmitCall, AdmittedCall)
RECORD_CALL_STATUS: RpcOperation[CallStatusReport, StatusRecorded] = _op(
    "calls.status", CallStatusReport, StatusRecorded)
BROWSER_OFFER: RpcOperation[BrowserOffer, BrowserAnswer] = _op("calls.browser_offer", BrowserOffer, BrowserAnswer)
DIAL_CALL: RpcOperation[DialCall, CallView] = _op("calls.dial", DialCall, CallView)
LEAVE_VOICEMAIL: RpcOperation[VoicemailReached, VoicemailMessage] = _op(
    "calls.voicemail", VoicemailReached, VoicemailMessage)
GET_CALL: RpcOperation[CallRef, CallDetail] = _op("calls.get", CallRef, CallDetail)
LIST_CALLS: RpcOperation[ListCalls, Page[CallView]] = _op("calls.list", ListCalls, Page[CallView])

OPERATIONS: list[RpcOperation[Any, Any]] = [ADMIT_CALL, DIAL_CALL, LEAVE_VOICEMAIL, BROWSER_OFFER, RECORD_CALL_STATUS,
                                            GET_CALL, LIST_CALLS]
