"""What both vector-index adapters agree on: point ids, payload, names, and how a search is shaped.

Rules kept here so the embedded and the server index cannot drift apart:
- A point id is a UUIDv5 of (tenant id, chunk id): re-ingesting a chunk overwrites its point, and a chunk id
  that happens to repeat under another tenant can never overwrite that tenant's point.
- The payload carries everything a Hit shows, so a search needs no second lookup.
- Every search and every delete is filtered by `tenant_id` first; no function here builds a query without it.
- Hybrid search fuses a dense and a sparse candidate list, each `max(limit * 4, 20)` long, by RRF (k=60).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afo_knowledge_ingest.domain.vectors import ChunkPoint, Hit, SearchMode, SparseVector

DENSE = "dense"
SPARSE = "bm25"
RRF_K = 60
INDEXED_FIELDS = ("tenant_id", "knowledge_base_id", "document_id")
_NAMESPACE = uuid.UUID("0b6a3f0e-5d4c-5f43-9a55-2f1c8f7e6a10")  # fixed forever: ids must not change
_SPACE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


def check_space(space: str) -> str:
    """A space names a directory (embedded) or a collection (server): refuse anything that could escape."""
    if not _SPACE.fullmatch(space) or ".." in space:
        raise ValueError(f"invalid vector space name {space!r}")
    return space


def point_id(tenant_id: str, chunk_id: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{tenant_id}\x00{chunk_id}")


def payload(point: ChunkPoint) -> dict[str, Any]:
    return {
        "tenant_id": point.tenant_id,
        "knowledge_base_id": point.knowledge_base_id,
        "document_id": point.document_id,
        "chunk_id": point.chunk_id,
        "text": point.text,
        "title": point.title,
        "heading": point.heading,
        "page": point.page,
    }


def check_dimensions(points: Sequence[ChunkPoint], dimension: int) -> None:
    for point in points:
        if point.dense is not None and len(point.dense) != dimension:
            raise ValueError(
                f"chunk {point.chunk_id} has a {len(point.dense)}-dimensional vector, expected {dimension}"
            )


def cosine(query: Sequence[float] | None, vectors: Any) -> float | None:
    """The hit's ``dense_score``: cosine of the query and the point's stored dense vector (the fused RRF score
    only ranks one query's hits; this one compares across queries). None without both vectors."""
    stored = vectors.get(DENSE) if isinstance(vectors, Mapping) else None
    if query is None or not stored:
        return None
    dot = sum(a * b for a, b in zip(query, stored, strict=True))
    norms = math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in stored))
    return dot / norms if norms else 0.0


def hit(fields: Mapping[str, Any], score: float, dense_score: float | None = None) -> Hit:
    return Hit(
        chunk_id=str(fields["chunk_id"]),
        knowledge_base_id=str(fields["knowledge_base_id"]),
        document_id=str(fields["document_id"]),
        text=str(fields["text"]),
        score=float(score),
        title=str(fields["title"]),
        heading=fields.get("heading"),
        page=fields.get("page"),
        dense_score=dense_score,
    )


def prefetch_limit(limit: int) -> int:
    return max(limit * 4, 20)


@dataclass(frozen=True)
class Plan:
    """Which vectors a search runs: both (fused by RRF) or one."""

    dense: list[float] | None
    sparse: SparseVector | None

    @property
    def fused(self) -> bool:
        return self.dense is not None and self.sparse is not None

    @property
    def empty(self) -> bool:
        return self.dense is None and self.sparse is None


def plan(mode: SearchMode, dense: list[float] | None, sparse: SparseVector | None) -> Plan:
    """Hybrid uses what it is given (a deployment without dense vectors still searches by BM25); "dense" and
    "sparse" insist on their vector. A sparse query with no terms (only stop words) contributes nothing."""
    if mode == "dense" and dense is None:
        raise ValueError("a dense search needs a dense query vector")
    if mode == "sparse" and sparse is None:
        raise ValueError("a sparse search needs a sparse query vector")
    terms = sparse if sparse is not None and sparse.indices else None
    return Plan(dense if mode != "sparse" else None, terms if mode != "dense" else None)
