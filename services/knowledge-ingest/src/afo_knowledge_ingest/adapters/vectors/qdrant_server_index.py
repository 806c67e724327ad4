"""VectorIndex on a Qdrant server through qdrant-client: one collection `afo_<space>` per space.

Same layout and rules as the embedded index (points.py, edge_schema.py): dense "dense" (cosine) + sparse
"bm25" with the IDF modifier, keyword indexes on tenant_id (`is_tenant=True`, so the server co-locates a
tenant's points), knowledge_base_id and document_id, HNSW `m=0, payload_m=16` (per-tenant graphs: every
query carries the tenant filter), RRF with k=60 (the server's default k is not 60, so it is given). The
server builds HNSW in its own process, so nothing here needs to schedule an optimize.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from qdrant_client import AsyncQdrantClient, models

from afo_knowledge_ingest.adapters.vectors import points as shared
from afo_knowledge_ingest.domain.vectors import ChunkPoint, Hit, SearchMode, SparseVector

HNSW = models.HnswConfigDiff(m=0, payload_m=16, ef_construct=64)
HNSW_EF = 128


def collection(space: str) -> str:
    return f"afo_{shared.check_space(space)}"


def tenant_filter(tenant_id: str, **fields: str | Sequence[str]) -> models.Filter:
    must: list[models.Condition] = [models.FieldCondition(key="tenant_id", match=models.MatchValue(value=tenant_id))]
    for name, value in fields.items():
        match = models.MatchValue(value=value) if isinstance(value, str) else models.MatchAny(any=list(value))
        must.append(models.FieldCondition(key=name, match=match))
    return models.Filter(must=must)


def _sparse(vector: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)


def _point(point: ChunkPoint) -> models.PointStruct:
    vectors: dict[str, models.Vector] = {shared.SPARSE: _sparse(point.sparse)}
    if point.dense is not None:
        vectors[shared.DENSE] = point.dense
    return models.PointStruct(
        id=str(shared.point_id(point.tenant_id, point.chunk_id)), vector=vectors, payload=shared.payload(point)
    )


class QdrantServerIndex:
    def __init__(self, client: AsyncQdrantClient, *, upsert_batch: int = 256) -> None:
        self._client = client
        self._upsert_batch = upsert_batch
        self._ready: set[str] = set()  # collections known to exist
        self._creating = asyncio.Lock()

    async def upsert(self, space: str, dimension: int, points: Sequence[ChunkPoint]) -> None:
        shared.check_dimensions(points, dimension)
        name = await self._ensure(space, dimension)
        for start in range(0, len(points), self._upsert_batch):
            batch = [_point(p) for p in points[start : start + self._upsert_batch]]
            await self._client.upsert(name, points=batch, wait=True)

    async def delete_document(self, space: str, tenant_id: str, document_id: str) -> None:
        await self._delete(space, tenant_filter(tenant_id, document_id=document_id))

    async def delete_knowledge_base(self, space: str, tenant_id: str, knowledge_base_id: str) -> None:
        await self._delete(space, tenant_filter(tenant_id, knowledge_base_id=knowledge_base_id))

    async def search(
        self,
        space: str,
        tenant_id: str,
        knowledge_base_ids: Sequence[str],
        *,
        dense: list[float] | None,
        sparse: SparseVector | None,
        limit: int,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        plan = shared.plan(mode, dense, sparse)
        if plan.empty or not knowledge_base_ids or limit <= 0 or not await self._exists(space):
            return []
        where = tenant_filter(tenant_id, knowledge_base_id=list(knowledge_base_ids))
        stages: list[tuple[list[float] | models.SparseVector, str, models.SearchParams]] = []
        if plan.dense is not None:
            stages.append((plan.dense, shared.DENSE, models.SearchParams(hnsw_ef=HNSW_EF)))
        if plan.sparse is not None:
            # IDF over the tenant's own points, as in the embedded index (local mode ignores it).
            idf = models.SearchParams(idf=models.IdfCorpusParams(corpus=tenant_filter(tenant_id)))
            stages.append((_sparse(plan.sparse), shared.SPARSE, idf))
        # The dense vectors come back so each hit gets its cosine to the query (points.cosine).
        with_vectors = [shared.DENSE] if plan.dense is not None else False
        if len(stages) == 1:
            [(query, using, params)] = stages
            response = await self._client.query_points(
                collection(space),
                query=query,
                using=using,
                query_filter=where,
                search_params=params,
                limit=limit,
                with_payload=True,
                with_vectors=with_vectors,
            )
        else:
            wide = shared.prefetch_limit(limit)
            prefetch = [models.Prefetch(query=q, using=u, filter=where, params=p, limit=wide) for q, u, p in stages]
            response = await self._client.query_points(
                collection(space),
                prefetch=prefetch,
                query=models.RrfQuery(rrf=models.Rrf(k=shared.RRF_K)),
                query_filter=where,
                limit=limit,
                with_payload=True,
                with_vectors=with_vectors,
            )
        return [shared.hit(p.payload or {}, p.score, shared.cosine(plan.dense, p.vector)) for p in response.points]

    async def close(self) -> None:
        await self._client.close()

    async def _delete(self, space: str, where: models.Filter) -> None:
        if await self._exists(space):
            await self._client.delete(collection(space), points_selector=models.FilterSelector(filter=where), wait=True)

    async def _exists(self, space: str) -> bool:
        name = collection(space)
        if name not in self._ready and await self._client.collection_exists(name):
            self._ready.add(name)
        return name in self._ready

    async def _ensure(self, space: str, dimension: int) -> str:
        name = collection(space)
        async with self._creating:
            if await self._exists(space):
                return name
            try:
                await self._client.create_collection(
                    name,
                    vectors_config={shared.DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
                    sparse_vectors_config={shared.SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                    hnsw_config=HNSW,
                )
            except Exception:
                # Another process may have created it first; then it exists and we only add the indexes
                # (creating an existing payload index is a no-op on the server).
                if not await self._client.collection_exists(name):
                    raise
            for field in shared.INDEXED_FIELDS:
                schema = models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=field == "tenant_id")
                await self._client.create_payload_index(name, field, field_schema=schema, wait=True)
            self._ready.add(name)
        return name
