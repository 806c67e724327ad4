"""Recording a produced turn: both messages, the lead, the conversation state and the events, in the
delivery's transaction; real-time notices go out only after it commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_agent_runtime.domain.analytics import normalise_question, reply_ms
from afo_agent_runtime.domain.engine import TurnDecision
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.views import lead_view
from afo_common import realtime as rt
from afo_common.events import Envelope
from afo_common.events.conversation import (
    ConversationClosed,
    ConversationOptedOut,
    HandoffRequested,
    LeadCreated,
    LeadQualified,
    LeadUpdated,
    MeetingCancelRequested,
    MeetingRequested,
    MessageReceived,
    MessageReplied,
)
from afo_common.ids import new_id
from afo_common.messaging.unit_of_work import HotUnitOfWork


async def record_turn(
    uow: HotUnitOfWork,
    cause: Envelope,
    message: MessageReceived,
    conversation: ConversationRow,
    existing_lead: LeadRow | None,
    decision: TurnDecision,
    *,
    reply_id: str,
    engine: str,
    first_delta_ms: float,
    completed_ms: float,
    realtime: Realtime,
    now: datetime,
    idle_after: timedelta | None = None,
    fallback: bool = False,
) -> None:
    tenant_id = conversation.tenant_id
    store = TurnStore(uow.tx)
    await store.add_messages(
        tenant_id,
        MessageRow(id=message.message_id, conversation_id=conversation.id, role="user", text=message.text,
                   created_at=message.sent_at),
        MessageRow(id=reply_id, conversation_id=conversation.id, role="assistant", text=decision.reply,
                   created_at=max(now, message.sent_at), in_reply_to=message.message_id,
                   intent=str(decision.intent), engine=engine,
                   citations=tuple(c.model_dump(mode="json") for c in decision.citations),
                   reply_ms=reply_ms(message.sent_at, now), unanswered=normalise_question(decision.unanswered)),
    )

    async def emit(payload: Any) -> None:
        await uow.emit(payload, tenant_id=tenant_id, causation=cause)

    lead = await _record_lead(store, emit, conversation, existing_lead, decision, now)
    lead_id = lead.id if lead else conversation.lead_id
    status = conversation.status
    if decision.meeting_request is not None:
        request = decision.meeting_request
        await emit(MeetingRequested(
            request_id=new_id("mreq"), conversation_id=conversation.id, agent_id=conversation.agent_id,
            lead_id=lead_id, start=request.start, timezone=request.timezone, text=request.text,
            replaces_meeting_id=request.replaces_meeting_id,
        ))
    if decision.cancel_meeting_id is not None:
        await emit(MeetingCancelRequested(
            request_id=new_id("mcan"), meeting_id=decision.cancel_meeting_id, conversation_id=conversation.id,
            agent_id=conversation.agent_id, lead_id=lead_id,
        ))
    if decision.handoff_reason is not None:
        status = "handed_off"
        await emit(HandoffRequested(conversation_id=conversation.id, agent_id=conversation.agent_id,
                                    lead_id=lead_id, reason=decision.handoff_reason))
    if decision.opted_out:
        status = "opted_out"
        await emit(ConversationOptedOut(conversation_id=conversation.id, lead_id=lead_id,
                                        channel=message.channel))
    await store.save_turn_state(conversation, memory=decision.memory.to_json(), status=status,
                                lead_id=lead_id, now=now,
                                last_sequence=max(conversation.last_sequence, message.sequence or 0),
                                idle_at=now + idle_after if idle_after is not None else None,
                                qualified=decision.became_qualified, handed_off=decision.handoff_reason is not None)
    # Opting out ends the conversation (once: it may have been closed already).
    if decision.opted_out and await store.close(tenant_id, conversation.id, "opted_out", now):
        await emit(ConversationClosed(conversation_id=conversation.id, agent_id=conversation.agent_id,
                                      reason="opted_out"))
    await emit(MessageReplied(
        conversation_id=conversation.id, message_id=reply_id, in_reply_to=message.message_id,
        text=decision.reply, engine="openai" if engine == "openai" else "embedded",
        intent=str(decision.intent), citations=list(decision.citations), first_delta_ms=round(first_delta_ms, 3),
        completed_ms=round(completed_ms, 3), reply_route=message.reply_route, agent_id=conversation.agent_id,
        lead_id=lead_id, fallback=fallback,
    ))

    current_lead = lead_view(lead) if lead is not None else None

    async def announce() -> None:
        await realtime.send(tenant_id, conversation.id, rt.ReplyCompleted(
            message_id=reply_id, in_reply_to=message.message_id, text=decision.reply,
            intent=str(decision.intent), engine=engine, citations=list(decision.citations), lead=current_lead))
        if current_lead is not None and decision.lead_changes:
            await realtime.send(tenant_id, conversation.id, rt.LeadUpdated(lead=current_lead))
        if decision.handoff_reason is not None:
            await realtime.send(tenant_id, conversation.id, rt.Handoff(reason=decision.handoff_reason))

    uow.after_commit(announce)


async def _record_lead(store: TurnStore, emit: Any, conversation: ConversationRow, existing: LeadRow | None,
                       decision: TurnDecision, now: datetime) -> LeadRow | None:
    """Create the lead on the first fact learned — or on a meeting asked for before any, so the meeting has its
    lead from the start — update it on every change, and say so in events. ``existing`` was read before the
    transaction; the conversation's revision check guards it."""
    memory = decision.memory
    changed = (bool(decision.lead_changes) or (existing is not None and existing.opted_out != memory.opted_out)
               or (existing is None and decision.meeting_request is not None))
    if not changed:
        return existing
    lead = LeadRow(
        id=existing.id if existing else new_id("lead"), tenant_id=conversation.tenant_id,
        conversation_id=conversation.id, agent_id=conversation.agent_id, fields=dict(memory.lead),
        missing_fields=list(decision.missing_fields), qualified=memory.qualified, opted_out=memory.opted_out,
        created_at=existing.created_at if existing else now, updated_at=now,
    )
    await store.save_lead(lead, exists=existing is not None)
    if existing is None:
        await emit(LeadCreated(lead_id=lead.id, conversation_id=conversation.id, agent_id=conversation.agent_id,
                               fields=lead.fields))
    else:
        await emit(LeadUpdated(lead_id=lead.id, conversation_id=conversation.id, fields=lead.fields,
                               changed=sorted(decision.lead_changes)))
    if decision.became_qualified:
        await emit(LeadQualified(lead_id=lead.id, conversation_id=conversation.id, agent_id=conversation.agent_id,
                                 fields=lead.fields))
    return lead
