"""Conversations, messages, the live SSE stream, and leads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from afo_common.rpcs.agent_runtime import ConversationDetail, ConversationView, LeadView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit, StreamPrincipal
from afo_gateway.entrypoints.http.idempotency import idempotent
from afo_gateway.entrypoints.http.schemas import ConversationBody, MessageAccepted, MessageBody, PageOut

router = APIRouter(prefix="/v1")
HEARTBEAT_S = 15.0
SSE_EVENTS = {"reply.delta", "reply.completed", "lead.updated", "handoff"}


@router.post("/conversations", status_code=201, response_model=ConversationView, tags=["conversations"])
async def start_conversation(body: ConversationBody, request: Request, principal: CurrentPrincipal,
                             gw: GatewayDep) -> Response:
    async def produce() -> Response:
        view = await gw.catalog.start_conversation(principal, body.agent_id, body.channel, body.contact)
        return JSONResponse(view.model_dump(mode="json"), status_code=201)

    return await idempotent(request, principal.tenant_id, produce)


@router.get("/conversations", response_model=PageOut, tags=["conversations"])
async def list_conversations(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                             agent_id: Annotated[str | None, Query(max_length=64)] = None) -> PageOut:
    page = await gw.catalog.conversations(principal, limit, cursor, agent_id)
    return PageOut(data=page.data, next_cursor=page.next_cursor)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail, tags=["conversations"])
async def get_conversation(conversation_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> ConversationDetail:
    return await gw.catalog.conversation(principal, conversation_id)


@router.post("/conversations/{conversation_id}/messages", status_code=202, response_model=MessageAccepted,
             tags=["conversations"])
async def post_message(
    conversation_id: str, body: MessageBody, request: Request, principal: CurrentPrincipal, gw: GatewayDep,
    wait: Annotated[bool, Query(description="answer with the agent's reply instead of 202")] = False,
    timeout_s: Annotated[float, Query(alias="timeout", gt=0, le=120, description="seconds to wait")] = 30.0,
) -> Response:
    async def produce() -> Response:
        posted = await gw.messages.post(principal, conversation_id, body.text, wait=wait, timeout_s=timeout_s)
        replied = posted.reply is not None
        out = MessageAccepted(message_id=posted.message_id, conversation_id=posted.conversation_id,
                              status="replied" if replied else "accepted", reply=posted.reply, lead=posted.lead)
        return JSONResponse(out.model_dump(mode="json"), status_code=200 if replied else 202)

    return await idempotent(request, principal.tenant_id, produce)


@router.get("/conversations/{conversation_id}/stream", tags=["conversations"],
            response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
async def stream(conversation_id: str, request: Request, principal: StreamPrincipal,
                 gw: GatewayDep) -> StreamingResponse:
    """Server-sent events: ``reply.delta``, ``reply.completed``, ``lead.updated``, ``handoff``.
    EventSource cannot send headers: pass the key as ``?access_token=``."""
    conversation = await gw.owners.conversation(principal, conversation_id)

    async def events() -> AsyncIterator[bytes]:
        # Subscribed before ": connected" goes out, and unsubscribed however the stream ends.
        async with gw.messages.feed.open(principal.tenant_id, conversation.id) as feed:
            sequence = 0
            yield b": connected\n\n"
            while not await request.is_disconnected():
                try:
                    notice: dict[str, Any] = await asyncio.wait_for(feed.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                kind = str(notice.get("type", ""))
                if kind not in SSE_EVENTS:
                    continue
                sequence += 1
                yield f"id: {sequence}\nevent: {kind}\ndata: {json.dumps(notice)}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/leads", response_model=PageOut, tags=["leads"])
async def list_leads(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                     qualified: bool | None = None) -> PageOut:
    page = await gw.catalog.leads(principal, limit, cursor, qualified)
    return PageOut(data=page.data, next_cursor=page.next_cursor)


@router.get("/leads/{lead_id}", response_model=LeadView, tags=["leads"])
async def get_lead(lead_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> LeadView:
    return await gw.catalog.lead(principal, lead_id)
