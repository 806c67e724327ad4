"""Events of the call context (voice-media owns calls: phone calls through Twilio Media Streams, browser calls
through WebRTC). A call's words are in its conversation's messages (agent-runtime) and in its turns (voice-media,
over the API); the events carry what an integrator reacts to and the latency figures, no audio and no text."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import CALL

CallTransport = Literal["twilio", "webrtc"]
CallDirection = Literal["inbound", "outbound"]
CallEnd = Literal["completed", "caller_hung_up", "agent_hung_up", "transferred", "voicemail", "silence",
                  "failed", "dropped"]


class TurnLatency(BaseModel):
    """Milliseconds from the end of the caller's speech (the last voiced audio) to each step of the answer; None
    where the step did not happen (a turn the caller cut off before any audio went out)."""

    turn_decision_ms: float
    # Of turn_decision_ms, the silence waited for on purpose (the end silence, or the shorter pause after which
    # a turn-end model judged the turn finished); what is left of the decision is the platform's own time.
    endpoint_wait_ms: float = 0.0
    stt_final_ms: float | None = None
    first_reply_delta_ms: float | None = None
    first_tts_audio_ms: float | None = None
    first_audio_out_ms: float | None = None
    # The providers' own share (speech recognition, speech synthesis): the platform's is first_audio_out_ms
    # minus these and endpoint_wait_ms (and minus the model's time when the agent uses an external LLM).
    stt_provider_ms: float = 0.0
    tts_provider_ms: float = 0.0


@event("call.started", stream=CALL)
class CallStarted(Event):
    call_id: str
    conversation_id: str
    agent_id: str
    transport: CallTransport
    direction: CallDirection
    # Masked like notifications' addresses; None for a browser call.
    caller: str | None = None
    started_at: datetime


@event("call.turn_completed", stream=CALL)
class CallTurnCompleted(Event):
    call_id: str
    conversation_id: str
    index: int = Field(ge=0)
    message_id: str
    # The caller spoke over the agent: the reply was cut off and only part of it was heard.
    interrupted: bool = False
    latency: TurnLatency


@event("call.ended", stream=CALL)
class CallEnded(Event):
    call_id: str
    conversation_id: str
    agent_id: str
    reason: CallEnd
    duration_s: float = Field(ge=0)
    turns: int = Field(ge=0)
    ended_at: datetime
