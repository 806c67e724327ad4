"""Use cases on conversations and leads that answer over RPC (the turn itself is in ``turns``)."""

from __future__ import annotations

from datetime import UTC, datetime

from afo_agent_runtime.adapters.agent_repository import AgentRepository
from afo_agent_runtime.adapters.conversation_repository import (
    ConversationRepository,
    ConversationRow,
    LeadRepository,
)
from afo_agent_runtime.domain.engine import ConversationMemory
from afo_agent_runtime.domain.errors import Conflict, NotFound
from afo_agent_runtime.handlers.request_ids import created_once
from afo_agent_runtime.handlers.views import conversation_view, lead_view, message_view
from afo_common.events.conversation import ConversationStarted
from afo_common.ids import new_id
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import (
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
    def __init__(self, unit_of_work: UnitOfWorkFactory) -> None:
        self._uow = unit_of_work

    async def create(self, request: CreateConversation) -> ConversationView:
        async def made_by_request(request_id: str) -> ConversationView | None:
            async with self._uow.db.session() as session:
                made = await ConversationRepository(session).by_request(request.tenant_id, request_id)
            return conversation_view(made) if made else None

        return await created_once(request.request_id, lambda: self._create(request), made_by_request)

    async def _create(self, request: CreateConversation) -> ConversationView:
        now = datetime.now(UTC)
        async with self._uow() as uow:
            if request.request_id and (
                made := await ConversationRepository(uow.session).by_request(request.tenant_id, request.request_id)
            ):
                return conversation_view(made)
            agent = await AgentRepository(uow.session).get(request.tenant_id, request.agent_id)
            if agent is None:
                raise NotFound("agent", request.agent_id)
            if agent.published_version is None:
                raise Conflict(f"agent {agent.id} has no published version: publish it first")
            row = ConversationRow(
                id=new_id("conv"), tenant_id=request.tenant_id, agent_id=agent.id,
                agent_version=agent.published_version, channel=request.channel,
                contact=request.contact.model_dump(mode="json"), status="open", lead_id=None,
                memory=ConversationMemory().to_json(), revision=0, created_at=now, updated_at=now,
                request_id=request.request_id,
            )
            await ConversationRepository(uow.session).add(row)
            await uow.emit(
                ConversationStarted(conversation_id=row.id, agent_id=agent.id, agent_version=row.agent_version,
                                    channel=request.channel, contact=request.contact),
                tenant_id=request.tenant_id,
            )
        return conversation_view(row)

    async def check(self, request: ConversationRef) -> ConversationView:
        async with self._uow.db.session() as session:
            row = await ConversationRepository(session).get(request.tenant_id, request.conversation_id)
        if row is None:
            raise NotFound("conversation", request.conversation_id)
        return conversation_view(row)

    async def get(self, request: ConversationRef) -> ConversationDetail:
        async with self._uow.db.session() as session:
            conversations = ConversationRepository(session)
            row = await conversations.get(request.tenant_id, request.conversation_id)
            if row is None:
                raise NotFound("conversation", request.conversation_id)
            messages = await conversations.messages(request.tenant_id, row.id)
            lead = await LeadRepository(session).for_conversation(request.tenant_id, row.id)
        return ConversationDetail(
            **conversation_view(row).model_dump(),
            messages=[message_view(m) for m in messages],
            lead=lead_view(lead) if lead else None,
        )

    async def list(self, request: ListConversations) -> Page[ConversationView]:
        async with self._uow.db.session() as session:
            rows = await ConversationRepository(session).page(
                request.tenant_id, request.limit, request.cursor, request.agent_id
            )
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[ConversationView](data=[conversation_view(r) for r in rows], next_cursor=next_cursor)

    async def lead(self, request: LeadRef) -> LeadView:
        async with self._uow.db.session() as session:
            row = await LeadRepository(session).get(request.tenant_id, request.lead_id)
        if row is None:
            raise NotFound("lead", request.lead_id)
        return lead_view(row)

    async def leads(self, request: ListLeads) -> Page[LeadView]:
        async with self._uow.db.session() as session:
            rows = await LeadRepository(session).page(
                request.tenant_id, request.limit, request.cursor, request.qualified
            )
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[LeadView](data=[lead_view(r) for r in rows], next_cursor=next_cursor)
