"""The tenant's documents, searched through knowledge-ingest's ``search`` RPC.

A search that cannot be done — no knowledge-ingest answering, no answer within ``timeout_s``, an error or
a reply that does not parse — raises ``KnowledgeUnavailable``: the turn goes on, and the lead is told the
answer cannot be looked up right now. A lead waits for the reply, so the timeout is short."""

from __future__ import annotations

from afo_agent_runtime.domain.knowledge import KnowledgeUnavailable, Passage, ScoredSentence
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.knowledge_ingest import SEARCH, Search, SearchMode

SEARCH_TIMEOUT_S = 1.5
# The contract's limits: a longer question is cut, an agent with more bases searches its first ones.
MAX_QUERY_CHARS = 2000
MAX_KNOWLEDGE_BASES = 20
MAX_TOP_K = 50


class RpcKnowledgeSearch:
    def __init__(self, rpc: RpcClient, timeout_s: float = SEARCH_TIMEOUT_S, mode: SearchMode = "hybrid") -> None:
        self._rpc = rpc
        self._timeout_s = timeout_s
        self._mode: SearchMode = mode

    async def search(
        self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int
    ) -> list[Passage]:
        query = query.strip()[:MAX_QUERY_CHARS]
        if not query or not knowledge_base_ids:
            return []
        request = Search(tenant_id=tenant_id, knowledge_base_ids=knowledge_base_ids[:MAX_KNOWLEDGE_BASES],
                         query=query, top_k=max(1, min(top_k, MAX_TOP_K)), mode=self._mode, with_sentences=True)
        try:
            result = await self._rpc.call(SEARCH, request, timeout_s=self._timeout_s)
        except RpcError as exc:
            raise KnowledgeUnavailable(f"knowledge search failed ({exc.code}): {exc.message}") from exc
        return [
            Passage(text=hit.text, title=hit.source.title, page=hit.source.page, document_id=hit.document_id,
                    score=hit.score, relevance=hit.relevance, chunk_id=hit.chunk_id,
                    knowledge_base_id=hit.knowledge_base_id, heading=hit.source.heading,
                    sentences=None if hit.sentences is None else tuple(
                        ScoredSentence(s.text, s.relevance) for s in hit.sentences))
            for hit in result.hits
        ]


class NoKnowledgeSearch:
    """No documents at all: for a runtime wired without knowledge-ingest (tests, tools)."""

    async def search(
        self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int
    ) -> list[Passage]:
        return []
