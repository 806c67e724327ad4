"""The calendar's answers in the conversation: ``meeting.booked``, ``meeting.failed`` and
``meeting.cancelled`` (workflow-executor, WORKFLOW stream) → the agent's message to the lead, recorded and
emitted as ``conversation.message_replied`` (every channel delivers it: an SMS conversation's by SMS,
``handlers/routes.py``) and pushed on the conversation's real-time stream, and the lead's meeting fields
(``lead.created``/``lead.updated``).

Like a turn, in the delivery's transaction on the driver: the inbox row first (a redelivery is a
duplicate), the conversation's revision checked (a turn or another answer that wrote first makes this one
retry on fresh state), the message unique by the event it answers. Order between the three consumers is
not guaranteed; ``domain/meetings.py`` makes any order come out the same. An event for a conversation this
tenant does not have, or of another agent, is a dead letter; one without a conversation (a booking made
outside any) has nothing to say here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.meetings import MeetingNews, booked, cancelled, failed
from afo_agent_runtime.domain.turn import ConversationMemory
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.routes import conversation_state, route_of
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_agent_runtime.handlers.views import lead_view
from afo_common import realtime as rt
from afo_common.clock import Clock
from afo_common.events.conversation import LeadCreated, LeadUpdated, MessageReplied, ReplyRoute
from afo_common.events.workflow import MeetingBooked, MeetingCancelled, MeetingFailed
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, PermanentError

Result = MeetingBooked | MeetingFailed | MeetingCancelled


class MeetingResults:
    def __init__(self, store: Store, clock: Clock, realtime: Realtime) -> None:
        self._store = store
        self._clock = clock
        self._realtime = realtime

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.payload
        if not isinstance(event, MeetingBooked | MeetingFailed | MeetingCancelled):
            raise PermanentError(f"not a meeting result: {type(event).__name__}")
        if event.conversation_id is None:
            return
        state = await conversation_state(delivery, event.conversation_id)
        conversation = state.conversation
        if conversation.agent_id != event.agent_id:
            raise PermanentError(f"conversation {conversation.id} is not agent {event.agent_id}'s")
        async with self._store.reading() as repos:
            version = await repos.agents.version(conversation.tenant_id, conversation.agent_id,
                                                 conversation.agent_version)
            route = await route_of(repos, conversation, state.lead)
        if version is None:
            raise PermanentError(f"agent {conversation.agent_id} v{conversation.agent_version} is missing")
        spec = AgentSpec.model_validate(version.spec)
        memory = ConversationMemory.from_json(conversation.memory)
        news = _news(memory, event, spec)
        await self._record(delivery, conversation, state.lead, spec, event, news, route)

    async def _record(self, delivery: Delivery, conversation: ConversationRow, existing: LeadRow | None,
                      spec: AgentSpec, event: Result, news: MeetingNews, route: ReplyRoute | None) -> None:
        tenant_id, now = conversation.tenant_id, self._clock.now()
        reply_id = new_id("msg") if news.reply is not None else None
        async with delivery.hot_transaction() as uow:
            store = TurnStore(uow.tx)

            async def emit(payload: Any) -> None:
                await uow.emit(payload, tenant_id=tenant_id, causation=delivery.envelope)

            lead = existing
            if news.lead_changes or news.lead_removed:
                lead = await _save_lead(store, emit, conversation, existing, spec, news, now)
            if news.reply is not None and reply_id is not None:
                await store.add_messages(tenant_id, MessageRow(
                    id=reply_id, conversation_id=conversation.id, role="assistant", text=news.reply,
                    created_at=now, in_reply_to=delivery.envelope.id, intent=_intent(event), engine="embedded"))
            await store.save_turn_state(conversation, memory=news.memory.to_json(), status=conversation.status,
                                        lead_id=lead.id if lead else conversation.lead_id,
                                        last_sequence=conversation.last_sequence, now=now,
                                        booked=isinstance(event, MeetingBooked) and news.changed)
            if news.reply is not None and reply_id is not None:
                await emit(MessageReplied(
                    conversation_id=conversation.id, message_id=reply_id, in_reply_to=delivery.envelope.id,
                    text=news.reply, engine="embedded", intent=_intent(event), first_delta_ms=0.0, completed_ms=0.0,
                    reply_route=route, agent_id=conversation.agent_id,
                    lead_id=lead.id if lead else conversation.lead_id))
            uow.after_commit(self._announcer(delivery, conversation, lead, event, news, reply_id))

    def _announcer(self, delivery: Delivery, conversation: ConversationRow, lead: LeadRow | None, event: Result,
                   news: MeetingNews, reply_id: str | None) -> Callable[[], Awaitable[None]]:
        tenant_id, view = conversation.tenant_id, lead_view(lead) if lead else None

        async def announce() -> None:
            send = self._realtime.send
            if news.reply is not None and reply_id is not None:
                await send(tenant_id, conversation.id, rt.ReplyCompleted(
                    message_id=reply_id, in_reply_to=delivery.envelope.id, text=news.reply, intent=_intent(event),
                    engine="embedded", lead=view))
            if view is not None and (news.lead_changes or news.lead_removed):
                await send(tenant_id, conversation.id, rt.LeadUpdated(lead=view))
            if not news.changed:
                return
            if isinstance(event, MeetingBooked):
                await send(tenant_id, conversation.id, rt.MeetingBookedNotice(
                    meeting_id=event.meeting_id, start=event.start, end=event.end, timezone=event.timezone,
                    message_id=reply_id))
            elif isinstance(event, MeetingFailed):
                await send(tenant_id, conversation.id, rt.MeetingFailedNotice(
                    reason=event.reason, alternatives=[s.start for s in event.alternatives],
                    scheduling_url=event.scheduling_url, message_id=reply_id))
            else:
                await send(tenant_id, conversation.id, rt.MeetingCancelledNotice(
                    meeting_id=event.meeting_id, by=event.by, message_id=reply_id))

        return announce


def _news(memory: ConversationMemory, event: Result, spec: AgentSpec) -> MeetingNews:
    if isinstance(event, MeetingBooked):
        return booked(memory, event)
    if isinstance(event, MeetingFailed):
        return failed(memory, event, spec.timezone)
    return cancelled(memory, event)


def _intent(event: Result) -> str:
    return {MeetingBooked: "meeting_booked", MeetingFailed: "meeting_failed"}.get(type(event), "meeting_cancelled")


async def _save_lead(store: TurnStore, emit: Callable[[Any], Awaitable[None]], conversation: ConversationRow,
                     existing: LeadRow | None, spec: AgentSpec, news: MeetingNews, now: datetime) -> LeadRow:
    fields = dict(news.memory.lead)
    changed = sorted({*news.lead_changes, *news.lead_removed})
    if existing is None:
        missing = [f.name for f in spec.qualification_fields if f.required and f.name not in fields]
        lead = LeadRow(id=new_id("lead"), tenant_id=conversation.tenant_id, conversation_id=conversation.id,
                       agent_id=conversation.agent_id, fields=fields, missing_fields=missing,
                       qualified=news.memory.qualified, opted_out=news.memory.opted_out, created_at=now,
                       updated_at=now)
        await store.save_lead(lead, exists=False)
        await emit(LeadCreated(lead_id=lead.id, conversation_id=conversation.id, agent_id=conversation.agent_id,
                               fields=fields))
        return lead
    lead = LeadRow(id=existing.id, tenant_id=existing.tenant_id, conversation_id=existing.conversation_id,
                   agent_id=existing.agent_id, fields=fields, missing_fields=existing.missing_fields,
                   qualified=existing.qualified, opted_out=existing.opted_out, created_at=existing.created_at,
                   updated_at=now, summary=existing.summary)
    await store.save_lead(lead, exists=True)
    await emit(LeadUpdated(lead_id=lead.id, conversation_id=conversation.id, fields=fields, changed=changed))
    return lead
