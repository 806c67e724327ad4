"""Search across a tenant's knowledge bases.

Knowledge bases are grouped by the space search uses (``embedding_space``: never the pending one, so a
re-embedding in progress changes nothing until it switches); the query is embedded once per space and
sparse-encoded once, each space is searched, and when there is more than one space the hits are merged by
score. ``relevance`` is the cosine similarity of the query and the passage in that dense space
(``Hit.dense_score``): comparable across queries, unlike the fused ``score``. ``sparse`` mode embeds no
dense query, so it has no relevance; ``dense`` mode sends no sparse query."""

from __future__ import annotations

from collections import defaultdict

from afo_common.rpcs.knowledge_ingest import HitSource, Search, SearchHit, SearchResult
from afo_knowledge_ingest.domain.errors import NotFound
from afo_knowledge_ingest.domain.vectors import Hit, VectorIndex
from afo_knowledge_ingest.handlers.ports import Embedders
from afo_knowledge_ingest.handlers.unit_of_work import Store


def _hit(hit: Hit) -> SearchHit:
    relevance = None if hit.dense_score is None else round(max(-1.0, min(1.0, hit.dense_score)), 6)
    return SearchHit(chunk_id=hit.chunk_id, document_id=hit.document_id, knowledge_base_id=hit.knowledge_base_id,
                     text=hit.text, score=hit.score, relevance=relevance,
                     source=HitSource(title=hit.title, page=hit.page, heading=hit.heading))


class SearchHandler:
    def __init__(self, store: Store, embedders: Embedders, index: VectorIndex) -> None:
        self._store = store
        self._embedders = embedders
        self._index = index

    async def search(self, request: Search) -> SearchResult:
        wanted = list(dict.fromkeys(request.knowledge_base_ids))
        async with self._store.reading() as repos:
            rows = await repos.knowledge_bases.existing(request.tenant_id, wanted)
        if missing := [i for i in wanted if i not in {r.id for r in rows}]:
            raise NotFound("knowledge base", *missing)
        by_space: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            by_space[row.embedding_space].append(row.id)
        sparse = None if request.mode == "dense" else self._embedders.sparse.encode_query(request.query)
        hits: list[Hit] = []
        for space, kb_ids in sorted(by_space.items()):
            dense = None
            if request.mode != "sparse":
                dense = await self._embedders.dense(space).embed_query(request.query)
            hits += await self._index.search(space, request.tenant_id, kb_ids, dense=dense, sparse=sparse,
                                             limit=request.top_k, mode=request.mode)
        if len(by_space) > 1:
            hits.sort(key=lambda h: h.score, reverse=True)
        return SearchResult(hits=[_hit(h) for h in hits[:request.top_k]])
