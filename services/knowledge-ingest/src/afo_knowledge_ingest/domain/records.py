"""What knowledge-ingest stores, as plain rows: repositories give and take these, handlers read them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from afo_common.events.knowledge import DocumentStatus

KnowledgeBaseStatus = Literal["ready", "reembedding"]
# Statuses the ingest worker still has work for.
IN_PROGRESS: tuple[DocumentStatus, ...] = ("queued", "parsing", "embedding")
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


@dataclass(frozen=True)
class KnowledgeBaseRow:
    id: str
    tenant_id: str
    name: str
    description: str
    embedding_provider: str
    embedding_model: str
    embedding_space: str          # what search uses
    pending_space: str | None     # being filled for a new model; None when not re-embedding
    status: KnowledgeBaseStatus
    created_at: datetime
    updated_at: datetime
    request_id: str | None = None


@dataclass(frozen=True)
class DocumentRow:
    id: str
    tenant_id: str
    knowledge_base_id: str
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    blob: str
    source_url: str | None
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    pages: int | None = None
    chunks_total: int = 0
    chunks_done: int = 0
    error_code: str | None = None
    error_reason: str | None = None
    embedding_space: str | None = None   # the space its vectors are complete in
    lease_owner: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0


@dataclass(frozen=True)
class ChunkRow:
    id: str
    tenant_id: str
    document_id: str
    knowledge_base_id: str
    ordinal: int
    text: str
    heading: str | None
    page: int | None
    char_count: int
    embedded_space: str | None = None    # the space its vector was last written in


@dataclass(frozen=True)
class Claimed:
    """A document the ingest worker holds a lease on, with the spaces of its knowledge base."""

    document: DocumentRow
    embedding_space: str
    pending_space: str | None


def chunk_id(document_id: str, ordinal: int) -> str:
    """Deterministic: parsing the same document again after a crash gives the same ids, so a vector written
    before the crash is overwritten, not duplicated."""
    value = int.from_bytes(hashlib.sha256(f"{document_id}:{ordinal}".encode()).digest()[:17], "big") >> 6
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "chk_" + "".join(reversed(chars))


def progress(status: DocumentStatus, chunks_done: int, chunks_total: int) -> float:
    """One figure for the view and the events, so what GET shows is what the events said."""
    if status == "ready":
        return 1.0
    if status == "embedding" and chunks_total:
        return round(min(chunks_done / chunks_total, 1.0), 4)
    return 0.0
