"""Search across a tenant's knowledge bases.

Knowledge bases are grouped by the space search uses (``embedding_space``: never the pending one, so a
re-embedding in progress changes nothing until it switches); the query is embedded once per space and
sparse-encoded once, each space is searched, and when there is more than one space the hits are merged by
score. ``relevance`` is the cosine similarity of the query and the passage in that dense space
(``Hit.dense_score``): comparable across queries, unlike the fused ``score``. ``sparse`` mode embeds no
dense query, so it has no relevance; ``dense`` mode sends no sparse query.

``with_sentences``: after the vector search, the hits' sentences are read in one tenant-scoped query by
chunk id and each hit whose sentences are in the space its knowledge base is searched in gets them scored
against that space's query vector (cosine, in the chunk's order). A hit without them (sparse mode, written
in another space, or before sentences existed) has ``sentences`` None. Measured: ~1.6 ms a search of five
hits on PostgreSQL, load and scoring (``domain/sentence_vectors.py``)."""

from __future__ import annotations

from collections import defaultdict

from afo_common.rpcs.knowledge_ingest import HitSource, Search, SearchHit, SearchResult, SentenceScore
from afo_knowledge_ingest.domain.errors import NotFound
from afo_knowledge_ingest.domain.sentence_vectors import relevances
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
        queries: dict[str, list[float]] = {}  # the dense query of each space
        sparse = None if request.mode == "dense" else self._embedders.sparse.encode_query(request.query)
        hits: list[Hit] = []
        for space, kb_ids in sorted(by_space.items()):
            dense = None
            if request.mode != "sparse":
                dense = queries[space] = await self._embedders.dense(space).embed_query(request.query)
            hits += await self._index.search(space, request.tenant_id, kb_ids, dense=dense, sparse=sparse,
                                             limit=request.top_k, mode=request.mode)
        if len(by_space) > 1:
            hits.sort(key=lambda h: h.score, reverse=True)
        found = [_hit(h) for h in hits[:request.top_k]]
        if request.with_sentences and queries and found:
            await self._score_sentences(request.tenant_id, found, {r.id: r.embedding_space for r in rows}, queries)
        return SearchResult(hits=found)

    async def _score_sentences(self, tenant_id: str, hits: list[SearchHit], space_of: dict[str, str],
                               queries: dict[str, list[float]]) -> None:
        async with self._store.reading() as repos:
            stored = await repos.chunks.sentences(tenant_id, [h.chunk_id for h in hits])
        for hit in hits:
            space = space_of[hit.knowledge_base_id]
            sentences, query = stored.get(hit.chunk_id), queries.get(space)
            if sentences is None or query is None or sentences.space != space:
                continue
            hit.sentences = [SentenceScore(text=t, relevance=r)
                             for t, r in zip(sentences.texts, relevances(query, sentences), strict=True)]
