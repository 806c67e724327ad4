"""Agents, conversations and leads, owned by agent-runtime: the gateway checks who may do what,
then asks the owner over RPC."""

from __future__ import annotations

from typing import Any

from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs.agent_spec import AgentPatch, AgentSpec
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import Forbidden, Invalid
from afo_gateway.handlers.accounts import Accounts
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.knowledge import KnowledgeBases
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.quotas import Quotas


class Catalog:
    def __init__(self, owners: Owners, accounts: Accounts, knowledge: KnowledgeBases, quotas: Quotas,
                 audit: AuditTrail) -> None:
        self._quotas = quotas
        self._audit = audit
        self._owners = owners
        self._accounts = accounts
        self._knowledge = knowledge

    async def _check_knowledge_bases(self, principal: Principal, ids: list[str] | None) -> None:
        """An agent answers from its tenant's knowledge bases only: an unknown id (or another tenant's)
        is a 422 naming the entry, before agent-runtime is asked anything."""
        if not ids:
            return
        missing = set(await self._knowledge.missing(principal, ids))
        if missing:
            raise Invalid("knowledge_base_ids names knowledge bases that do not exist", [
                {"loc": ["body", "knowledge_base_ids", i], "msg": f"knowledge base {kb} not found",
                 "type": "not_found"} for i, kb in enumerate(ids) if kb in missing])

    async def create_agent(self, principal: Principal, spec: AgentSpec, request_id: str) -> ar.AgentView:
        require(principal, Permission.WRITE)
        await self._check_knowledge_bases(principal, spec.knowledge_base_ids)
        await self._quotas.admit_agent(principal)
        # What the client set, in the long form: agent-runtime fills the defaults, so a field added to the
        # contract later is never sent to an agent-runtime that does not know it yet.
        sent = spec.model_dump(mode="json", exclude_unset=True)
        if "timezone" not in sent:
            sent["timezone"] = (await self._accounts.tenant(principal)).timezone
        request = ar.CreateAgent(tenant_id=principal.tenant_id, spec=sent, request_id=request_id)
        agent = await self._owners.create(ar.CREATE_AGENT, request)
        await self._audit.changed(principal, "agent.create", agent.id)
        return agent

    async def agent(self, principal: Principal, agent_id: str) -> ar.AgentView:
        require(principal, Permission.READ)
        return await self._owners.call(ar.GET_AGENT, ar.AgentRef(tenant_id=principal.tenant_id, agent_id=agent_id))

    async def agents(self, principal: Principal, limit: int, cursor: str | None) -> Page[ar.AgentView]:
        require(principal, Permission.READ)
        request = ar.ListAgents(tenant_id=principal.tenant_id, limit=limit, cursor=cursor)
        return await self._owners.call(ar.LIST_AGENTS, request)

    async def update_agent(self, principal: Principal, agent_id: str, patch: AgentPatch) -> ar.AgentView:
        require(principal, Permission.WRITE)
        await self._check_knowledge_bases(principal, patch.knowledge_base_ids)
        request = ar.UpdateAgent(tenant_id=principal.tenant_id, agent_id=agent_id, patch=patch)
        agent = await self._owners.call(ar.UPDATE_AGENT, request)
        await self._audit.changed(principal, "agent.update", agent_id)
        return agent

    async def delete_agent(self, principal: Principal, agent_id: str) -> None:
        require(principal, Permission.WRITE)
        await self._owners.call(ar.DELETE_AGENT, ar.AgentRef(tenant_id=principal.tenant_id, agent_id=agent_id))
        await self._audit.changed(principal, "agent.delete", agent_id)

    async def versions(self, principal: Principal, agent_id: str, limit: int, cursor: str | None
                       ) -> Page[ar.AgentVersionView]:
        require(principal, Permission.READ)
        request = ar.ListVersions(tenant_id=principal.tenant_id, agent_id=agent_id, limit=limit, cursor=cursor)
        return await self._owners.call(ar.LIST_VERSIONS, request)

    async def start_conversation(self, principal: Principal, agent_id: str, channel: str,
                                 contact: Any, request_id: str) -> ar.ConversationView:
        if principal.is_publishable:
            if agent_id != principal.agent_id:
                raise Forbidden("this publishable key opens conversations with its own agent only")
            channel = "web"
        else:
            require(principal, Permission.WRITE)
        request = ar.CreateConversation(tenant_id=principal.tenant_id, agent_id=agent_id, channel=channel,
                                        contact=contact, request_id=request_id)
        return await self._owners.create(ar.CREATE_CONVERSATION, request)

    async def conversation(self, principal: Principal, conversation_id: str) -> ar.ConversationDetail:
        if not principal.is_publishable:
            require(principal, Permission.READ)
        await self._owners.conversation(principal, conversation_id)
        request = ar.ConversationRef(tenant_id=principal.tenant_id, conversation_id=conversation_id)
        return await self._owners.call(ar.GET_CONVERSATION, request)

    async def close_conversation(self, principal: Principal, conversation_id: str) -> ar.ConversationView:
        """Ends the conversation (its analysis follows); closing it again answers it as it is. A publishable
        key may close its own agent's conversations (the widget's "end chat")."""
        require(principal, Permission.WRITE, publishable=True)
        await self._owners.conversation(principal, conversation_id)
        request = ar.ConversationRef(tenant_id=principal.tenant_id, conversation_id=conversation_id)
        return await self._owners.call(ar.CLOSE_CONVERSATION, request)

    async def conversations(self, principal: Principal, limit: int, cursor: str | None,
                            agent_id: str | None) -> Page[ar.ConversationView]:
        require(principal, Permission.READ)
        request = ar.ListConversations(tenant_id=principal.tenant_id, limit=limit, cursor=cursor, agent_id=agent_id)
        return await self._owners.call(ar.LIST_CONVERSATIONS, request)

    async def lead(self, principal: Principal, lead_id: str) -> ar.LeadView:
        require(principal, Permission.READ)
        return await self._owners.call(ar.GET_LEAD, ar.LeadRef(tenant_id=principal.tenant_id, lead_id=lead_id))

    async def leads(self, principal: Principal, limit: int, cursor: str | None,
                    qualified: bool | None) -> Page[ar.LeadView]:
        require(principal, Permission.READ)
        request = ar.ListLeads(tenant_id=principal.tenant_id, limit=limit, cursor=cursor, qualified=qualified)
        return await self._owners.call(ar.LIST_LEADS, request)
