"""Knowledge search for the LLM's ``search_knowledge`` tool.

knowledge-ingest does not ingest or search documents yet (issue 3), so this port answers honestly with
no passages; the model is told so in the tool result and must not invent an answer."""

from __future__ import annotations

from afo_agent_runtime.adapters.llm_engine import Passage


class NoKnowledgeSearch:
    async def search(
        self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int
    ) -> list[Passage]:
        return []
