"""How a qdrant-edge shard is laid out and queried (requests only; edge_index.py runs them).

HNSW: `m=0, payload_m=16` builds one graph per tenant (per `tenant_id` value) and no global graph. Every
query here carries the tenant filter (`tenant_filter` is the only way to build one), and with that filter the
per-tenant graphs give the same recall as a global graph for about a quarter of the build time (60 s vs
217 s at 100k points, DEPENDENCIES.md); a query without it would see recall around 0.08, which is one more
reason no such query may exist. `ef_construct=64`; `hnsw_ef=128` at query time (recall on hard data rises
with it, and at a few thousand points per tenant it costs well under a millisecond).
IDF is computed over the tenant's own points (`IdfParams(corpus=tenant)`): another tenant's documents then
neither shift a tenant's BM25 ranking nor leak through its scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qdrant_edge import (
    Distance,
    EdgeConfig,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    Fusion,
    HnswIndexConfig,
    IdfParams,
    KeywordIndexParams,
    MatchAny,
    MatchValue,
    Modifier,
    Point,
    Prefetch,
    Query,
    QueryRequest,
    SearchParams,
    UpdateOperation,
)
from qdrant_edge import SparseVector as EdgeSparse

from afo_knowledge_ingest.adapters.vectors import points as shared
from afo_knowledge_ingest.domain.vectors import ChunkPoint, SparseVector

if TYPE_CHECKING:
    from qdrant_edge import NamedVector  # a type alias of the stubs only

HNSW = HnswIndexConfig(m=0, payload_m=16, ef_construct=64, full_scan_threshold=10_000)
HNSW_EF = 128


def config(dimension: int) -> EdgeConfig:
    return EdgeConfig(
        vectors={shared.DENSE: EdgeVectorParams(size=dimension, distance=Distance.Cosine, hnsw_config=HNSW)},
        sparse_vectors={shared.SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
        hnsw_config=HNSW,
    )


def field_indexes() -> list[UpdateOperation]:
    # Mandatory: without a keyword index on tenant_id, filtered recall collapses (0.07) and no per-tenant
    # graph is built.
    return [
        UpdateOperation.create_field_index(name, KeywordIndexParams(is_tenant=name == "tenant_id"))
        for name in shared.INDEXED_FIELDS
    ]


def edge_point(point: ChunkPoint) -> Point:
    vectors: dict[str, NamedVector] = {shared.SPARSE: _sparse(point.sparse)}
    if point.dense is not None:
        vectors[shared.DENSE] = point.dense
    return Point(shared.point_id(point.tenant_id, point.chunk_id), vectors, shared.payload(point))


def tenant_filter(tenant_id: str, **fields: str | Sequence[str]) -> Filter:
    """Tenant first, always; then the other fields, a sequence meaning any of its values."""
    must = [FieldCondition("tenant_id", match=MatchValue(tenant_id))]
    for name, value in fields.items():
        match = MatchValue(value) if isinstance(value, str) else MatchAny(list(value))
        must.append(FieldCondition(name, match=match))
    return Filter(must=list(must))


def search_request(tenant_id: str, where: Filter, plan: shared.Plan, limit: int) -> QueryRequest:
    stages: list[tuple[Query, SearchParams]] = []
    if plan.dense is not None:
        stages.append((Query.Nearest(plan.dense, using=shared.DENSE), SearchParams(hnsw_ef=HNSW_EF)))
    if plan.sparse is not None:
        idf = SearchParams(idf=IdfParams(corpus=tenant_filter(tenant_id)))  # valid on the IDF vector only
        stages.append((Query.Nearest(_sparse(plan.sparse), using=shared.SPARSE), idf))
    # The dense vectors come back so each hit gets its cosine to the query (points.cosine).
    with_vector = [shared.DENSE] if plan.dense is not None else False
    if len(stages) == 1:
        [(query, params)] = stages
        return QueryRequest(limit=limit, query=query, filter=where, params=params, with_payload=True,
                            with_vector=with_vector)
    wide = shared.prefetch_limit(limit)
    return QueryRequest(
        limit=limit,
        prefetches=[Prefetch(wide, query=query, filter=where, params=params) for query, params in stages],
        query=Fusion.Rrf(k=shared.RRF_K),  # type: ignore[arg-type]  # the stub types Fusion, not its Rrf
        filter=where,
        with_payload=True,
        with_vector=with_vector,
    )


def _sparse(vector: SparseVector) -> EdgeSparse:
    return EdgeSparse(indices=vector.indices, values=vector.values)
