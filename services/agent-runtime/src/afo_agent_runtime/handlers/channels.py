"""The channels outside chat, as RPC use cases: an agent's phone numbers, the conversation an inbound SMS goes
into, and a lead an inbound source submitted (speed to lead: the agent writes first).

Which conversation an SMS from a phone to an agent goes into: the latest one that phone had with that agent
(SMS or an inbound source's) unless it ended by an opt-out or the tenant closed it — an idle one carries on,
so a lead answering tomorrow is in the same conversation — else a new one (channel ``sms``), whose lead is
created at once with the phone."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol

from afo_agent_runtime.adapters.channel_repository import NumberTaken
from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_agent_runtime.adapters.llm_opening import LlmOpener
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import ConversationMemory, Replies
from afo_agent_runtime.domain.errors import Conflict, NotFound
from afo_agent_runtime.domain.opening import compose_opening, lead_fields
from afo_agent_runtime.handlers.conversation_start import published_spec, start_conversation
from afo_agent_runtime.handlers.request_ids import created_once
from afo_agent_runtime.handlers.unit_of_work import Store, UnitOfWork
from afo_agent_runtime.handlers.views import conversation_view
from afo_common.clock import Clock
from afo_common.events.conversation import (
    Contact,
    LeadCreated,
    MessageReplied,
    ReplyRoute,
)
from afo_common.ids import new_id
from afo_common.rpcs.agent_runtime import ConversationView
from afo_common.rpcs.agent_runtime_channels import (
    CallConversation,
    CallConversationView,
    InboundLead,
    InboundLeadView,
    NumberOwner,
    PhoneNumbersRef,
    PhoneNumbersView,
    PutPhoneNumbers,
    ResolveNumber,
    SmsConversation,
)

log = logging.getLogger(__name__)

# A conversation that ended this way is not carried on by the lead's next SMS.
ENDED_FOR_GOOD = ("opted_out", "closed")


class Openers(Protocol):
    async def opener_for(self, spec: AgentSpec, tenant_id: str) -> LlmOpener | None: ...


class ChannelHandlers:
    """``openers``: the agents' models, which write an LLM agent's opening message (within
    ``opening_timeout_s``, so the RPC is answered in time; the embedded opening otherwise)."""

    def __init__(self, store: Store, clock: Clock, openers: Openers | None = None,
                 opening_timeout_s: float = 3.0) -> None:
        self._store = store
        self._clock = clock
        self._openers = openers
        self._opening_timeout_s = opening_timeout_s

    async def put_numbers(self, request: PutPhoneNumbers) -> PhoneNumbersView:
        numbers = list(dict.fromkeys(request.numbers))
        async with self._store() as uow:
            await _agent(uow, request.tenant_id, request.agent_id)
            try:
                await uow.channels.replace_numbers(request.tenant_id, request.agent_id, numbers, self._clock.now())
            except NumberTaken as exc:
                raise Conflict(str(exc)) from exc
            held = await uow.channels.numbers(request.tenant_id, request.agent_id)
        return PhoneNumbersView(agent_id=request.agent_id, numbers=held)

    async def get_numbers(self, request: PhoneNumbersRef) -> PhoneNumbersView:
        async with self._store.reading() as repos:
            agent = await repos.agents.get(request.tenant_id, request.agent_id)
            if agent is None:
                raise NotFound("agent", request.agent_id)
            held = await repos.channels.numbers(request.tenant_id, request.agent_id)
        return PhoneNumbersView(agent_id=request.agent_id, numbers=held)

    async def resolve(self, request: ResolveNumber) -> NumberOwner:
        async with self._store.reading() as repos:
            owners = await repos.channels.owners([request.number])
        if not owners:
            raise NotFound("phone number", request.number)
        return NumberOwner(tenant_id=owners[0].tenant_id, agent_id=owners[0].agent_id, number=request.number)

    async def for_sms(self, request: SmsConversation) -> ConversationView:
        async def made_by_request(request_id: str) -> ConversationView | None:
            async with self._store.reading() as repos:
                made = await repos.conversations.by_request(request.tenant_id, request_id)
            return conversation_view(made) if made else None

        return await created_once(request.request_id, lambda: self._for_sms(request), made_by_request)

    async def _for_sms(self, request: SmsConversation) -> ConversationView:
        now = self._clock.now()
        async with self._store() as uow:
            known = await uow.channels.conversation_of(request.tenant_id, request.agent_id, request.phone)
            row = await uow.conversations.get(request.tenant_id, known) if known else None
            if row is not None and row.close_reason not in ENDED_FOR_GOOD and row.status != "opted_out":
                return conversation_view(row)
            if made := await uow.conversations.by_request(request.tenant_id, request.request_id):
                return conversation_view(made)
            spec, version = await published_spec(uow, request.tenant_id, request.agent_id)
            fields = lead_fields(spec, {"phone": request.phone})
            row = await start_conversation(uow, request.tenant_id, request.agent_id, version, spec, "sms",
                                           Contact(phone=request.phone), ConversationMemory(lead=fields, greeted=True),
                                           request.request_id, now, lead_id=new_id("lead"))
            row = await _add_lead(uow, row, spec, fields, now)
            await uow.channels.remember(request.tenant_id, request.agent_id, request.phone, row.id, now)
        return conversation_view(row)

    async def for_call(self, request: CallConversation) -> CallConversationView:
        async def made_by_request(request_id: str) -> CallConversationView | None:
            async with self._store.reading() as repos:
                made = await repos.conversations.by_request(request.tenant_id, request_id)
                if made is None:
                    return None
                spec, _ = await published_spec(repos, request.tenant_id, request.agent_id)
            return _call_view(made, spec, Replies(spec).greeting())

        return await created_once(request.request_id, lambda: self._for_call(request), made_by_request)

    async def _for_call(self, request: CallConversation) -> CallConversationView:
        now = self._clock.now()
        tenant_id = request.tenant_id
        async with self._store() as uow:
            spec, version = await published_spec(uow, tenant_id, request.agent_id)
            fields = lead_fields(spec, {"phone": request.phone}) if request.phone else {}
            # voice-media speaks the greeting as the call connects: the first answer must not say it again.
            memory = ConversationMemory(lead=fields, greeted=True)
            row = await start_conversation(uow, tenant_id, request.agent_id, version, spec, "voice",
                                           Contact(phone=request.phone), memory,
                                           request.request_id, now,
                                           lead_id=new_id("lead") if request.phone else None)
            if request.phone:
                row = await _add_lead(uow, row, spec, fields, now)
                await uow.channels.remember(tenant_id, request.agent_id, request.phone, row.id, now)
            greeting = Replies(spec).greeting()
            await uow.channels.add_message(tenant_id, MessageRow(
                id=new_id("msg"), conversation_id=row.id, role="assistant", text=greeting, created_at=now,
                intent="greeting", engine="embedded"))
        return _call_view(row, spec, greeting)

    async def inbound(self, request: InboundLead) -> InboundLeadView:
        async def made_by_request(request_id: str) -> InboundLeadView | None:
            async with self._store.reading() as repos:
                made = await repos.conversations.by_request(request.tenant_id, request_id)
            return _inbound_view(made, None, created=False) if made else None

        if made := await made_by_request(request.request_id):
            return made
        async with self._store.reading() as repos:
            spec, _ = await published_spec(repos, request.tenant_id, request.agent_id)
        written = await self._model_opening(spec, request)
        return await created_once(request.request_id, lambda: self._inbound(request, written), made_by_request)

    async def _model_opening(self, spec: AgentSpec, request: InboundLead) -> str | None:
        """An LLM agent's opening, written by its model before the transaction (None: the embedded one)."""
        if self._openers is None or spec.llm.provider != "openai":
            return None
        opener = await self._openers.opener_for(spec, request.tenant_id)
        if opener is None:
            return None
        embedded = compose_opening(spec, request.fields, request.message)
        question = (replies_question(spec, embedded.missing[0]) if embedded.missing else None)
        try:
            async with asyncio.timeout(self._opening_timeout_s):
                return await opener.compose(spec, embedded.memory.lead, request.message, question)
        except TimeoutError:
            log.warning("the model took over %.1f s to write an opening; the embedded one is sent",
                        self._opening_timeout_s)
            return None

    async def _inbound(self, request: InboundLead, written: str | None) -> InboundLeadView:
        now = self._clock.now()
        tenant_id = request.tenant_id
        async with self._store() as uow:
            if made := await uow.conversations.by_request(tenant_id, request.request_id):
                return _inbound_view(made, None, created=False)
            spec, version = await published_spec(uow, tenant_id, request.agent_id)
            opening = compose_opening(spec, request.fields, request.message)
            text, engine = (written, "openai") if written else (opening.text, "embedded")
            row = await start_conversation(uow, tenant_id, request.agent_id, version, spec, "webhook",
                                           request.contact, opening.memory, request.request_id, now,
                                           lead_id=new_id("lead"))
            row = await _add_lead(uow, row, spec, opening.memory.lead, now)
            if request.message and request.message.strip():
                await uow.channels.add_message(tenant_id, MessageRow(
                    id=new_id("msg"), conversation_id=row.id, role="user", text=request.message.strip(),
                    created_at=now))
            route = await _first_route(uow, request)
            reply_id = new_id("msg")
            await uow.channels.add_message(tenant_id, MessageRow(
                id=reply_id, conversation_id=row.id, role="assistant", text=text,
                created_at=now + timedelta(microseconds=1), intent="greeting", engine=engine))
            if request.contact.phone:
                await uow.channels.remember(tenant_id, request.agent_id, request.contact.phone, row.id, now)
            await uow.emit(MessageReplied(
                conversation_id=row.id, message_id=reply_id, in_reply_to=row.id, text=text,
                engine="openai" if engine == "openai" else "embedded", intent="greeting", first_delta_ms=0.0,
                completed_ms=0.0, reply_route=route,
                agent_id=request.agent_id, lead_id=row.lead_id), tenant_id=tenant_id)
        return _inbound_view(row, route, created=True)


def replies_question(spec: AgentSpec, field_name: str) -> str:
    field = next(f for f in spec.qualification_fields if f.name == field_name)
    return Replies(spec).question(field)


def _call_view(row: ConversationRow, spec: AgentSpec, greeting: str) -> CallConversationView:
    hints = list(dict.fromkeys([spec.name, *spec.voice.vocabulary]))
    return CallConversationView(conversation_id=row.id, lead_id=row.lead_id, greeting=greeting,
                                voice=spec.voice.model_dump(mode="json"), hints=hints,
                                voicemail_message=spec.voice.voicemail_message or voicemail_message(spec))


def voicemail_message(spec: AgentSpec) -> str:
    """What an agent that wrote no voicemail message of its own leaves: who called, and that it calls again."""
    return (f"Hi, this is {spec.name}, calling to follow up on your enquiry. Sorry I missed you; "
            "I'll try you again soon, or you can call me back at this number. Goodbye!")


def _inbound_view(row: ConversationRow, route: ReplyRoute | None, *, created: bool) -> InboundLeadView:
    return InboundLeadView(conversation_id=row.id, lead_id=row.lead_id or "", created=created,
                           reached_by=route.channel if route else None)


async def _agent(uow: UnitOfWork, tenant_id: str, agent_id: str) -> None:
    if await uow.agents.get(tenant_id, agent_id) is None:
        raise NotFound("agent", agent_id)


async def _add_lead(uow: UnitOfWork, row: ConversationRow, spec: AgentSpec, fields: dict[str, str],
                    now: datetime) -> ConversationRow:
    """The conversation's lead from the start (``start_conversation`` gave its id), with what is known of it; the first
    turn reads it and carries on from there."""
    assert row.lead_id is not None
    missing = [f.name for f in spec.qualification_fields if f.required and f.name not in fields]
    lead = LeadRow(id=row.lead_id, tenant_id=row.tenant_id, conversation_id=row.id, agent_id=row.agent_id,
                   fields=dict(fields), missing_fields=missing, qualified=False, opted_out=False, created_at=now,
                   updated_at=now)
    await uow.channels.add_lead(lead)
    await uow.emit(LeadCreated(lead_id=lead.id, conversation_id=row.id, agent_id=row.agent_id, fields=lead.fields),
                   tenant_id=row.tenant_id)
    return row


async def _first_route(uow: UnitOfWork, request: InboundLead) -> ReplyRoute | None:
    """SMS from the agent's first number when the lead gave a phone and the source reaches out by SMS (or gave
    no email), else email."""
    phone, email = request.contact.phone, request.contact.email
    if phone and (request.channel == "sms" or not email):
        numbers = await uow.channels.numbers(request.tenant_id, request.agent_id)
        return ReplyRoute(channel="sms", to=phone, sender=numbers[0] if numbers else None)
    if email:
        return ReplyRoute(channel="email", to=email)
    return None
