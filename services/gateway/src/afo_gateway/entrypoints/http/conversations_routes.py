"""Conversations, messages, the live SSE stream, and leads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from afo_common.rpcs.agent_runtime import ConversationDetail, ConversationView, LeadView
from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.dependencies import (
    ConversationId,
    CurrentPrincipal,
    Cursor,
    GatewayDep,
    LeadId,
    Limit,
    StreamPrincipal,
)
from afo_gateway.entrypoints.http.idempotency import Reply, WidgetWrite
from afo_gateway.entrypoints.http.schemas import (
    ConversationBody,
    MessageAccepted,
    MessageBody,
    StreamTokenOut,
)
from afo_gateway.entrypoints.http.sse import conversation_stream

router = APIRouter(prefix="/v1")


@router.post("/conversations", status_code=201, response_model=ConversationView, tags=["conversations"])
async def start_conversation(body: ConversationBody, write: WidgetWrite, gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        return Reply(201, await gw.catalog.start_conversation(write.principal, body.agent_id, body.channel,
                                                              body.contact, write.request_id))

    return await write.run(produce)


@router.get("/conversations", response_model=Page[ConversationView], tags=["conversations"])
async def list_conversations(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                             agent_id: Annotated[str | None, Query(max_length=64)] = None) -> Page[ConversationView]:
    return await gw.catalog.conversations(principal, limit, cursor, agent_id)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail, tags=["conversations"])
async def get_conversation(conversation_id: ConversationId, principal: CurrentPrincipal,
                           gw: GatewayDep) -> ConversationDetail:
    return await gw.catalog.conversation(principal, conversation_id)


@router.post("/conversations/{conversation_id}/close", response_model=ConversationView, tags=["conversations"])
async def close_conversation(conversation_id: ConversationId, write: WidgetWrite, gw: GatewayDep) -> Response:
    """Ends the conversation: ``conversation.closed``, then its analysis (in ``GET …/{id}`` once done).
    Closing an ended conversation again changes nothing and answers it as it is."""

    async def produce() -> Reply:
        return Reply(200, await gw.catalog.close_conversation(write.principal, conversation_id))

    return await write.run(produce)


@router.post("/conversations/{conversation_id}/messages", status_code=202, response_model=MessageAccepted,
             tags=["conversations"], responses={200: {
                 "model": MessageAccepted, "description": "with ?wait=true, the reply came in time: status replied"}})
async def post_message(
    conversation_id: ConversationId, body: MessageBody, write: WidgetWrite, gw: GatewayDep,
    wait: Annotated[bool, Query(description="answer with the agent's reply instead of 202")] = False,
    timeout_s: Annotated[float, Query(alias="timeout", gt=0, le=120, description="seconds to wait")] = 30.0,
) -> Response:
    async def produce() -> Reply:
        posted = await gw.messages.post(write.principal, conversation_id, body.text, wait=wait, timeout_s=timeout_s)
        replied = posted.reply is not None
        out = MessageAccepted.model_validate({
            "message_id": posted.message_id, "conversation_id": posted.conversation_id,
            "status": "replied" if replied else "accepted", "reply": posted.reply, "lead": posted.lead})
        return Reply(200 if replied else 202, out)

    return await write.run(produce)


@router.get("/conversations/{conversation_id}/stream", tags=["conversations"],
            response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
async def stream(conversation_id: ConversationId, request: Request, principal: StreamPrincipal,
                 gw: GatewayDep) -> StreamingResponse:
    """Server-sent events: ``reply.delta``, ``reply.completed``, ``lead.updated``, ``handoff``,
    ``meeting.booked``, ``meeting.failed``, ``meeting.cancelled`` (the agent's message about it comes as a
    ``reply.completed`` too); finally
    ``revoked`` when the key or session loses access, or ``reconnect`` (with a ``retry:`` hint) when this
    gateway restarts. EventSource cannot send headers: a browser passes ``?access_token=`` with the
    widget's publishable key or a stream token, never a secret key."""
    conversation = await gw.owners.conversation(principal, conversation_id)
    return StreamingResponse(conversation_stream(gw, principal, conversation.id),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/conversations/{conversation_id}/stream-token", status_code=201, response_model=StreamTokenOut,
             tags=["conversations"])
async def stream_token(conversation_id: ConversationId, principal: CurrentPrincipal,
                       gw: GatewayDep) -> StreamTokenOut:
    """A token for ``GET …/stream?access_token=``: this conversation only, valid for five minutes, and only
    while the key or session that asked for it is."""
    token, expires_at = await gw.stream_tokens.issue(principal, conversation_id)
    return StreamTokenOut(token=token, expires_at=expires_at)


@router.get("/leads", response_model=Page[LeadView], tags=["leads"])
async def list_leads(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                     qualified: bool | None = None) -> Page[LeadView]:
    return await gw.catalog.leads(principal, limit, cursor, qualified)


@router.get("/leads/{lead_id}", response_model=LeadView, tags=["leads"])
async def get_lead(lead_id: LeadId, principal: CurrentPrincipal, gw: GatewayDep) -> LeadView:
    return await gw.catalog.lead(principal, lead_id)
