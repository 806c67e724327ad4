"""RPC contract of voice-media for agent tests (``agent_tests``): what the agent's recogniser hears when a caller
says each of a voice test's lines.

voice-media speaks each text with its offline voice (espeak-ng, a stand-in for the caller), carries it as a phone
call does (8 kHz, G.711 μ-law and back) and gives it to the recogniser a call of this agent would use (its
``voice.stt`` with the tenant's key, else the offline Whisper), with the agent's hints. Nothing is recorded or
kept. ``unavailable`` when the speech engines fail."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from afo_common.messaging.rpc import RpcOperation, TenantRequest

SERVICE = "voice-media"

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Hint = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class HearLines(TenantRequest):
    lines: list[Line] = Field(min_length=1, max_length=30)
    voice: dict[str, Any] = Field(default_factory=dict, description="the agent's voice settings (stt, language)")
    hints: list[Hint] = Field(default_factory=list, max_length=60)


class HeardLines(BaseModel):
    heard: list[str] = Field(description="each line as recognised, in order (empty when nothing was recognised)")
    stt: str = Field(description="the recogniser that listened")


HEAR_LINES: RpcOperation[HearLines, HeardLines] = RpcOperation(SERVICE, "speech.hear", HearLines, HeardLines)

OPERATIONS: list[RpcOperation[Any, Any]] = [HEAR_LINES]
