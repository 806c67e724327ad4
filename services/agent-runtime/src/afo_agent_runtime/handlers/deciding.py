"""Which engine decides a lead's turn, and its decision: the one code path that a real conversation's turn
(``turns.py``) and an agent test's turn (``agent_test_runs.py``) both go through.

Opting out is decided by rules, never by a model: it must work the same every time. An agent with a model
(``llm.provider`` openai and an endpoint) is answered by it; otherwise — or when the model fails and the
caller does not want to retry — by the embedded engine, which searches the agent's documents first for a
question (the engine stays pure). A search that fails is an answer too ("I can't look that up right now")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from afo_agent_runtime.adapters.llm_engine import HistoryTurn
from afo_agent_runtime.adapters.openai_chat import ChatProviderError
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import ConversationMemory, EmbeddedEngine, Intent, TurnDecision, classify
from afo_agent_runtime.domain.knowledge import KnowledgeSearch, KnowledgeUnavailable, Lookup
from afo_agent_runtime.handlers.llm_engines import LlmEngines

log = logging.getLogger(__name__)

KNOWLEDGE_TOP_K = 5

DeltaSink = Callable[[str], Awaitable[None]]
# Whether a model's failure should fail the turn (to be retried) rather than be answered by the rules.
RetryPolicy = Callable[[ChatProviderError], bool]


@dataclass(frozen=True)
class Produced:
    decision: TurnDecision
    engine: str
    # The agent's model failed and the embedded engine answered instead.
    fallback: bool = False


async def _discard(_: str) -> None:
    return None


def _never(_: ChatProviderError) -> bool:
    return False


class TurnDecider:
    def __init__(self, llm: LlmEngines, knowledge: KnowledgeSearch, embedded: EmbeddedEngine) -> None:
        self._llm = llm
        self._knowledge = knowledge
        self._embedded = embedded

    async def decide(self, tenant_id: str, spec: AgentSpec, memory: ConversationMemory, text: str, now: datetime,
                     *, spoken: bool, history: Sequence[HistoryTurn] = (), on_delta: DeltaSink = _discard,
                     retry: RetryPolicy = _never, about: str = "a turn") -> Produced:
        """Raises the model's ``ChatProviderError`` only when ``retry`` says so; otherwise always decides.
        ``about``: what the turn belongs to, for the log."""
        rules_only = memory.opted_out or classify(text).intent == Intent.OPT_OUT
        llm = None if rules_only or spec.llm.provider != "openai" else await self._llm.engine_for(spec, tenant_id)
        if llm is None:
            return await self.embedded(tenant_id, spec, memory, text, now, spoken)
        try:
            decision = await llm.respond(tenant_id=tenant_id, agent=spec, memory=memory, history=list(history),
                                         text=text, now=now, on_delta=on_delta)
            return Produced(decision, "openai")
        except ChatProviderError as exc:
            if retry(exc):
                raise
            # A lead waiting for an answer gets one: the deterministic engine answers instead.
            log.warning("LLM failed for %s of tenant %s (%s); answering with the embedded engine", about, tenant_id,
                        exc)
            return replace(await self.embedded(tenant_id, spec, memory, text, now, spoken), fallback=True)

    async def embedded(self, tenant_id: str, spec: AgentSpec, memory: ConversationMemory, text: str,
                       now: datetime, spoken: bool) -> Produced:
        """The rules answer; a question to an agent with documents is searched first."""
        knowledge: Lookup | None = None
        query = self._embedded.knowledge_query(spec, memory, text)
        if query is not None:
            try:
                passages = await self._knowledge.search(tenant_id=tenant_id, query=query, top_k=KNOWLEDGE_TOP_K,
                                                        knowledge_base_ids=list(spec.knowledge_base_ids))
                knowledge = Lookup(tuple(passages))
            except KnowledgeUnavailable as exc:
                log.warning("knowledge search failed for tenant %s: %s", tenant_id, exc)
                knowledge = Lookup(failed=True)
        return Produced(self._embedded.respond(spec, memory, text, now, knowledge, spoken=spoken), "embedded")
