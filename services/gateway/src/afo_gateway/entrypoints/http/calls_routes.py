"""Phone and browser calls (owned by voice-media): each with its transcript (both sides, what the caller heard
of an interrupted answer) and every turn's latency broken down; outbound calls placed through Twilio."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from afo_common.rpcs.pages import Page
from afo_common.rpcs.voice_media import BrowserAnswer, CallDetail, CallView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import Reply, Write

router = APIRouter(prefix="/v1/calls", tags=["calls"])

CallId = Annotated[str, Path(max_length=64)]


@router.get("", response_model=Page[CallView])
async def list_calls(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                     agent_id: Annotated[str | None, Query(max_length=64)] = None,
                     conversation_id: Annotated[str | None, Query(max_length=64)] = None) -> Page[CallView]:
    """Newest first; filtered by agent, or by the conversation the calls belong to."""
    return await gw.calls.list(principal, limit, cursor, agent_id, conversation_id)


class DialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(max_length=64)
    to: str = Field(min_length=3, max_length=32, description="the lead's number, with its country code")


@router.post("", response_model=CallView, status_code=201)
async def dial(body: DialIn, write: Write, gw: GatewayDep) -> Response:
    """The agent calls a lead from its first phone number through the tenant's Twilio account: answered at once
    with the call ``dialing``; Twilio then rings the lead. An answering machine gets the agent's voicemail
    message (``end_reason: voicemail``). 409 when the agent has no number or the tenant no Twilio credentials."""

    async def produce() -> Reply:
        return Reply(201, await gw.calls.dial(write.principal, body.agent_id, body.to))

    return await write.run(produce)


class BrowserOfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str | None = Field(default=None, max_length=64)
    sdp: str = Field(min_length=20, max_length=20000)
    type: Literal["offer"] = "offer"


@router.post("/webrtc/offer", response_model=BrowserAnswer)
async def browser_offer(body: BrowserOfferIn, principal: CurrentPrincipal, gw: GatewayDep) -> BrowserAnswer:
    """A browser's WebRTC offer (the widget's voice button, with its publishable key): answered with voice-media's
    SDP; the call's audio then flows between the browser and voice-media."""
    return await gw.calls.browser_offer(principal, body.agent_id, body.sdp)


@router.get("/{call_id}/recording", response_class=Response, responses={200: {"content": {"audio/wav": {}}}})
async def get_recording(call_id: CallId, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    """The call as the caller heard it: caller on the left channel, agent on the right (μ-law WAV, 8 kHz)."""
    return Response(await gw.calls.recording(principal, call_id), media_type="audio/wav",
                    headers={"Content-Disposition": f'attachment; filename="{call_id}.wav"'})


@router.get("/{call_id}", response_model=CallDetail)
async def get_call(call_id: CallId, principal: CurrentPrincipal, gw: GatewayDep) -> CallDetail:
    return await gw.calls.get(principal, call_id)
