"""The collaborators the handlers are given besides the store and the clock: where uploaded bytes are,
how a document is read into chunks, and which embedders make which space's vectors."""

from __future__ import annotations

from typing import Protocol

from afo_knowledge_ingest.domain.documents import ChunkDraft, ParsedDocument
from afo_knowledge_ingest.domain.vectors import DenseEmbedder, SparseEncoder


class Blobs(Protocol):
    """The documents bucket (``afo_common.messaging.blobs.BlobStore``)."""

    async def get(self, name: str) -> bytes:
        """Raises ``afo_common.messaging.blobs.BlobNotFound`` when there is no such object."""
        ...

    async def delete(self, name: str) -> None:
        """A missing object is already deleted."""
        ...


class DocumentReader(Protocol):
    """Parse and chunk; CPU-bound and synchronous, so the worker runs it in a thread. Raises
    ``UnreadableDocument`` when the bytes are not a readable document of the declared type."""

    def __call__(self, data: bytes, media_type: str, filename: str) -> tuple[ParsedDocument, list[ChunkDraft]]: ...


class Embedders(Protocol):
    def space(self, provider: str, model: str) -> str:
        """The space a knowledge base with this embedding fills; raises ``ProviderNotConfigured``."""
        ...

    def dense(self, space: str) -> DenseEmbedder:
        """The embedder of a space found in the database (built once, then reused)."""
        ...

    @property
    def sparse(self) -> SparseEncoder: ...
