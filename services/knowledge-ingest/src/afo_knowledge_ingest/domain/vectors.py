"""Vectors and search hits as the domain sees them; the vector index and the embedders are ports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

SearchMode = Literal["hybrid", "dense", "sparse"]


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class ChunkPoint:
    """One chunk in the vector index: its vectors and what a hit must show without another lookup."""

    chunk_id: str
    tenant_id: str
    knowledge_base_id: str
    document_id: str
    dense: list[float] | None
    sparse: SparseVector
    text: str
    title: str
    heading: str | None
    page: int | None


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    knowledge_base_id: str
    document_id: str
    text: str
    score: float
    title: str
    heading: str | None
    page: int | None
    # Cosine similarity of the query's dense vector and this chunk's, when the search was given a dense
    # query: comparable across queries (``score`` is rank-fused and is not). Adapters compute it from the
    # stored vector (Qdrant: ``with_vectors``); None when the search had no dense query.
    dense_score: float | None = None


class DenseEmbedder(Protocol):
    """Turns text into dense vectors of one space. ``space`` names the model and its dimension, so vectors
    of different models are never stored or searched together."""

    @property
    def space(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def start(self) -> None:
        """Gets ready now (loads a model, learns a dimension) instead of on the first use."""
        ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def embed_query(self, text: str) -> list[float]: ...


class SparseEncoder(Protocol):
    """BM25 term weights as a sparse vector; the index applies IDF at query time."""

    def encode_document(self, text: str) -> SparseVector: ...

    def encode_query(self, text: str) -> SparseVector: ...


class VectorIndex(Protocol):
    """Every call is scoped to one tenant inside the adapter: no query runs without the tenant filter."""

    async def upsert(self, space: str, dimension: int, points: Sequence[ChunkPoint]) -> None: ...

    async def delete_document(self, space: str, tenant_id: str, document_id: str) -> None: ...

    async def delete_knowledge_base(self, space: str, tenant_id: str, knowledge_base_id: str) -> None: ...

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
    ) -> list[Hit]: ...

    async def close(self) -> None: ...
