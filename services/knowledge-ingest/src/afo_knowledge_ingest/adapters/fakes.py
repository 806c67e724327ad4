"""Stand-ins for ingestion's ports, in memory and deterministic: a vector index that scores by term overlap
and cosine, a bag-of-words embedder, a term-count sparse encoder, a blob store and a plain-text reader.
Handler tests run on them; they are also what the service runs on without its real adapters."""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from afo_common.messaging.blobs import BlobNotFound
from afo_knowledge_ingest.domain.documents import Block, ChunkDraft, ParsedDocument, UnreadableDocument
from afo_knowledge_ingest.domain.spaces import EMBEDDED_SPACE
from afo_knowledge_ingest.domain.vectors import ChunkPoint, Hit, SearchMode, SparseVector

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


class FakeSparseEncoder:
    def encode_document(self, text: str) -> SparseVector:
        counts = Counter(zlib.crc32(w.encode()) % 100_003 for w in words(text))
        return SparseVector(sorted(counts), [float(counts[i]) for i in sorted(counts)])

    def encode_query(self, text: str) -> SparseVector:
        return self.encode_document(text)


@dataclass
class FakeEmbedder:
    """Hashed bag of words. ``before_batch`` runs before each ``embed_documents`` (a test fails or stalls it
    there); ``batches`` counts them."""

    space: str = EMBEDDED_SPACE
    dimension: int = 32
    before_batch: Callable[[int], Awaitable[None]] | None = None
    batches: int = 0
    queries: list[str] = field(default_factory=list)
    started: bool = False

    async def start(self) -> None:
        self.started = True

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in words(text):
            vector[zlib.crc32((self.space + word).encode()) % self.dimension] += 1.0
        return vector

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches += 1
        if self.before_batch is not None:
            await self.before_batch(self.batches)
        return [self._vector(t) for t in texts]

    async def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self._vector(text)


@dataclass
class FakeVectorIndex:
    points: dict[str, dict[str, ChunkPoint]] = field(default_factory=dict)  # space -> chunk id -> point
    upserted: list[tuple[str, str]] = field(default_factory=list)  # (space, chunk id), every write

    async def upsert(self, space: str, dimension: int, points: Sequence[ChunkPoint]) -> None:
        for point in points:
            if point.dense is not None and len(point.dense) != dimension:
                raise ValueError(f"a vector of {len(point.dense)} in a space of {dimension}")
            self.points.setdefault(space, {})[point.chunk_id] = point
            self.upserted.append((space, point.chunk_id))

    def _drop(self, space: str, keep: Callable[[ChunkPoint], bool]) -> None:
        self.points[space] = {k: p for k, p in self.points.get(space, {}).items() if keep(p)}

    async def delete_document(self, space: str, tenant_id: str, document_id: str) -> None:
        self._drop(space, lambda p: (p.tenant_id, p.document_id) != (tenant_id, document_id))

    async def delete_knowledge_base(self, space: str, tenant_id: str, knowledge_base_id: str) -> None:
        self._drop(space, lambda p: (p.tenant_id, p.knowledge_base_id) != (tenant_id, knowledge_base_id))

    def count(self, space: str, document_id: str | None = None) -> int:
        return sum(document_id in (None, p.document_id) for p in self.points.get(space, {}).values())

    async def search(self, space: str, tenant_id: str, knowledge_base_ids: Sequence[str], *,
                     dense: list[float] | None, sparse: SparseVector | None, limit: int,
                     mode: SearchMode = "hybrid") -> list[Hit]:
        candidates = [p for p in self.points.get(space, {}).values()
                      if p.tenant_id == tenant_id and p.knowledge_base_id in knowledge_base_ids]
        rankings: list[list[ChunkPoint]] = []
        if sparse is not None and mode != "dense":
            query = dict(zip(sparse.indices, sparse.values, strict=True))

            def overlap(p: ChunkPoint) -> float:
                return sum(min(v, query[i]) for i, v in zip(p.sparse.indices, p.sparse.values, strict=True)
                           if i in query)

            rankings.append(sorted((p for p in candidates if overlap(p) > 0), key=lambda p: (-overlap(p), p.chunk_id)))
        if dense is not None and mode != "sparse":
            rankings.append(sorted(candidates, key=lambda p: (-_cosine(dense, p.dense or []), p.chunk_id)))
        fused: dict[str, float] = {}
        for ranking in rankings:  # reciprocal rank fusion, k = 60 as Qdrant's
            for rank, point in enumerate(ranking):
                fused[point.chunk_id] = fused.get(point.chunk_id, 0.0) + 1.0 / (60 + rank + 1)
        by_id = {p.chunk_id: p for p in candidates}
        best = sorted(fused, key=lambda i: (-fused[i], i))[:limit]
        return [Hit(p.chunk_id, p.knowledge_base_id, p.document_id, p.text, fused[i], p.title, p.heading, p.page,
                    None if dense is None or p.dense is None else _cosine(dense, p.dense))
                for i in best for p in [by_id[i]]]

    async def close(self) -> None:
        return None


@dataclass
class FakeBlobs:
    objects: dict[str, bytes] = field(default_factory=dict)
    fail_deletes: int = 0  # the next n deletes raise, as NATS down would

    async def get(self, name: str) -> bytes:
        if name not in self.objects:
            raise BlobNotFound(name)
        return self.objects[name]

    async def delete(self, name: str) -> None:
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise ConnectionError("the object store is unreachable")
        self.objects.pop(name, None)


def read_text(data: bytes, media_type: str, filename: str) -> tuple[ParsedDocument, list[ChunkDraft]]:
    """Plain text: a paragraph per blank-line-separated block, a chunk per paragraph. Bytes that start with
    ``%CORRUPT`` are unreadable."""
    if data.startswith(b"%CORRUPT"):
        raise UnreadableDocument("corrupt", f"{filename} is not a readable {media_type} document")
    paragraphs = [p.strip() for p in data.decode("utf-8", "replace").split("\n\n") if p.strip()]
    blocks = [Block("paragraph", p) for p in paragraphs]
    drafts = [ChunkDraft(i, p, None, None, len(p)) for i, p in enumerate(paragraphs)]
    return ParsedDocument(filename, blocks), drafts
