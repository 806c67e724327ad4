"""Each ended conversation analysed once: ``conversation.closed`` (agent-runtime's own event, on a durable
consumer, so an analysis interrupted by a crash is done after the restart) → the embedded analysis, or the
agent's model's when it has one and it answers by the schema → stored on the conversation (only if none
is: a conditional update), the summary on the lead, ``conversation.analyzed``."""

from __future__ import annotations

from typing import cast

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.analysis import Said, analyze
from afo_agent_runtime.domain.turn import ConversationMemory
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.events.conversation import ConversationAnalyzed, ConversationClosed
from afo_common.messaging.consumer import Delivery, PermanentError


class ConversationAnalyses:
    def __init__(self, store: Store, llm: LlmEngines) -> None:
        self._store = store
        self._llm = llm

    async def __call__(self, delivery: Delivery) -> None:
        closed = cast(ConversationClosed, delivery.payload)
        tenant_id = delivery.envelope.tenantid
        async with self._store.reading() as repos:
            row = await repos.conversations.get(tenant_id, closed.conversation_id)
            if row is None:
                raise PermanentError(f"conversation {closed.conversation_id} does not exist for this tenant")
            if row.analysis is not None:
                return  # analysed already (a second close never reaches here; a replayed one may)
            version = await repos.agents.version(tenant_id, row.agent_id, row.agent_version)
            messages = await repos.conversations.messages(tenant_id, row.id, limit=500)
            lead = await repos.leads.for_conversation(tenant_id, row.id)
        if version is None:
            raise PermanentError(f"agent {row.agent_id} v{row.agent_version} is missing")
        spec = AgentSpec.model_validate(version.spec)
        said = [Said("user" if m.role == "user" else "assistant", m.text) for m in messages]
        result = analyze(spec, ConversationMemory.from_json(row.memory), said)
        engine = "embedded"
        analyzer = await self._llm.analyzer_for(spec, tenant_id)
        if analyzer is not None and (better := await analyzer.analyze(spec, said, result)) is not None:
            result, engine = better, "openai"
        async with self._store.handling(delivery) as uow:
            if not await uow.conversations.save_analysis(tenant_id, row.id, {**result.model_dump(), "engine": engine}):
                return
            if lead is not None:
                await uow.leads.save_summary(tenant_id, lead.id, result.summary)
            await uow.emit(ConversationAnalyzed(
                conversation_id=row.id, agent_id=row.agent_id, lead_id=lead.id if lead else row.lead_id,
                summary=result.summary, outcome=result.outcome, facts=result.facts, next_step=result.next_step,
                engine="openai" if engine == "openai" else "embedded",
            ), tenant_id=tenant_id, causation=delivery.envelope)
