"""How every conversation starts, whichever way it comes (the API's ``conversations.create``, an SMS from a new
phone, an inbound source's lead): on the agent's published version, idle-timed by its spec, announced by
``conversation.started``."""

from __future__ import annotations

from datetime import datetime, timedelta

from afo_agent_runtime.adapters.conversation_repository import ConversationRow
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import ConversationMemory
from afo_agent_runtime.domain.errors import Conflict, NotFound
from afo_agent_runtime.handlers.unit_of_work import Repositories, UnitOfWork
from afo_agent_runtime.metrics import CONVERSATIONS_STARTED, SERVICE
from afo_common.events.conversation import Channel, Contact, ConversationStarted
from afo_common.ids import new_id


async def published_spec(repos: Repositories, tenant_id: str, agent_id: str) -> tuple[AgentSpec, int]:
    """The agent's published spec and its version; NotFound for no such agent, Conflict for one never
    published."""
    agent = await repos.agents.get(tenant_id, agent_id)
    if agent is None:
        raise NotFound("agent", agent_id)
    if agent.published_version is None:
        raise Conflict(f"agent {agent.id} has no published version: publish it first")
    version = await repos.agents.version(tenant_id, agent.id, agent.published_version)
    if version is None:
        raise NotFound("agent version", f"{agent.id} v{agent.published_version}")
    return AgentSpec.model_validate(version.spec), agent.published_version


async def start_conversation(uow: UnitOfWork, tenant_id: str, agent_id: str, version: int, spec: AgentSpec,
                             channel: Channel, contact: Contact, memory: ConversationMemory,
                             request_id: str | None, now: datetime, *, lead_id: str | None) -> ConversationRow:
    """``lead_id``: the lead's id when the conversation has one from the start (its phone or a form's fields),
    else None (the first turn that learns something makes it)."""
    row = ConversationRow(
        id=new_id("conv"), tenant_id=tenant_id, agent_id=agent_id, agent_version=version, channel=channel,
        contact=contact.model_dump(mode="json"), status="open", lead_id=lead_id, memory=memory.to_json(),
        revision=0, created_at=now, updated_at=now, request_id=request_id,
        idle_at=now + timedelta(minutes=spec.idle_timeout_minutes),
    )
    await uow.conversations.add(row)
    await uow.emit(ConversationStarted(conversation_id=row.id, agent_id=agent_id, agent_version=version,
                                       channel=channel, contact=contact), tenant_id=tenant_id)

    async def counted() -> None:  # after the commit: a start rolled back is not one
        CONVERSATIONS_STARTED.labels(SERVICE, channel).inc()

    uow.after_commit(counted)
    return row
