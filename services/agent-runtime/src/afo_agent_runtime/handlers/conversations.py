"""Use cases on conversations and leads that answer over RPC (the turn itself is in ``turns``)."""

from __future__ import annotations

from afo_agent_runtime.domain.engine import ConversationMemory
from afo_agent_runtime.domain.errors import NotFound
from afo_agent_runtime.handlers.conversation_start import published_spec, start_conversation
from afo_agent_runtime.handlers.request_ids import created_once
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_agent_runtime.handlers.views import conversation_view, lead_view, message_view
from afo_common.clock import Clock
from afo_common.rpcs.agent_runtime import (
    ConversationAnalysis,
    ConversationDetail,
    ConversationRef,
    ConversationView,
    CreateConversation,
    LeadRef,
    LeadView,
    ListConversations,
    ListLeads,
)
from afo_common.rpcs.pages import Page


class ConversationHandlers:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(self, request: CreateConversation) -> ConversationView:
        async def made_by_request(request_id: str) -> ConversationView | None:
            async with self._store.reading() as repos:
                made = await repos.conversations.by_request(request.tenant_id, request_id)
            return conversation_view(made) if made else None

        return await created_once(request.request_id, lambda: self._create(request), made_by_request)

    async def _create(self, request: CreateConversation) -> ConversationView:
        now = self._clock.now()
        async with self._store() as uow:
            if request.request_id and (
                made := await uow.conversations.by_request(request.tenant_id, request.request_id)
            ):
                return conversation_view(made)
            spec, version = await published_spec(uow, request.tenant_id, request.agent_id)
            row = await start_conversation(uow, request.tenant_id, request.agent_id, version, spec, request.channel,
                                           request.contact, ConversationMemory(), request.request_id, now,
                                           lead_id=None)
        return conversation_view(row)

    async def check(self, request: ConversationRef) -> ConversationView:
        async with self._store.reading() as repos:
            row = await repos.conversations.get(request.tenant_id, request.conversation_id)
        if row is None:
            raise NotFound("conversation", request.conversation_id)
        return conversation_view(row)

    async def get(self, request: ConversationRef) -> ConversationDetail:
        async with self._store.reading() as repos:
            row = await repos.conversations.get(request.tenant_id, request.conversation_id)
            if row is None:
                raise NotFound("conversation", request.conversation_id)
            messages = await repos.conversations.messages(request.tenant_id, row.id)
            lead = await repos.leads.for_conversation(request.tenant_id, row.id)
        return ConversationDetail(
            **conversation_view(row).model_dump(),
            messages=[message_view(m) for m in messages],
            lead=lead_view(lead) if lead else None,
            analysis=ConversationAnalysis.model_validate(row.analysis) if row.analysis else None,
        )

    async def list(self, request: ListConversations) -> Page[ConversationView]:
        async with self._store.reading() as repos:
            rows = await repos.conversations.page(
                request.tenant_id, request.limit, request.cursor, request.agent_id
            )
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[ConversationView](data=[conversation_view(r) for r in rows], next_cursor=next_cursor)

    async def lead(self, request: LeadRef) -> LeadView:
        async with self._store.reading() as repos:
            row = await repos.leads.get(request.tenant_id, request.lead_id)
        if row is None:
            raise NotFound("lead", request.lead_id)
        return lead_view(row)

    async def leads(self, request: ListLeads) -> Page[LeadView]:
        async with self._store.reading() as repos:
            rows = await repos.leads.page(
                request.tenant_id, request.limit, request.cursor, request.qualified
            )
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[LeadView](data=[lead_view(r) for r in rows], next_cursor=next_cursor)
