"""The real adapters of ingestion, built in one place: how documents are read (parsers + chunking), the
embedders (MiniLM in process, the operator's OpenAI-compatible endpoint, BM25) and the vector index
(embedded qdrant-edge under ``$AFO_HOME/qdrant``, or a Qdrant server when ``AFO_QDRANT_URL`` is set).
``app.build`` takes ``IngestComponents``; tests give it fakes (``adapters/fakes.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from afo_knowledge_ingest.adapters.embeddings.bm25 import Bm25Encoder
from afo_knowledge_ingest.adapters.embeddings.minilm import MiniLmEmbedder
from afo_knowledge_ingest.adapters.embeddings.openai_compatible import OpenAIEmbedder
from afo_knowledge_ingest.adapters.parsers import parse
from afo_knowledge_ingest.domain.chunking import chunk
from afo_knowledge_ingest.domain.documents import ChunkDraft, ParsedDocument
from afo_knowledge_ingest.domain.vectors import DenseEmbedder, VectorIndex
from afo_knowledge_ingest.handlers.embedders import EmbedderRegistry
from afo_knowledge_ingest.handlers.ports import DocumentReader
from afo_knowledge_ingest.settings import KnowledgeIngestSettings


@dataclass(frozen=True)
class IngestComponents:
    reader: DocumentReader
    embedders: EmbedderRegistry
    index: VectorIndex


def read_document(data: bytes, media_type: str, filename: str) -> tuple[ParsedDocument, list[ChunkDraft]]:
    """Parse and chunk: synchronous and CPU-bound, run by the ingest worker in a thread."""
    document = parse(data, media_type, filename)
    return document, chunk(document)


def build_components(settings: KnowledgeIngestSettings) -> IngestComponents:
    threads = settings.onnx_threads or 2
    openai: Callable[[str], DenseEmbedder] | None = None
    if settings.embeddings_base_url:
        base_url = settings.embeddings_base_url
        # The operator's key; tenants' own keys arrive with the credential vault in a later issue.
        key = settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else ""

        def openai_for(model: str) -> DenseEmbedder:
            return OpenAIEmbedder(base_url, key, model, settings.embeddings_dimension)

        openai = openai_for
    embedders = EmbedderRegistry(lambda: MiniLmEmbedder(intra_op_threads=threads), openai, Bm25Encoder())
    index: VectorIndex
    if settings.qdrant_url:
        from qdrant_client import AsyncQdrantClient

        from afo_knowledge_ingest.adapters.vectors.qdrant_server_index import QdrantServerIndex

        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        index = QdrantServerIndex(AsyncQdrantClient(url=settings.qdrant_url, api_key=api_key))
    else:
        from afo_knowledge_ingest.adapters.vectors.edge_index import EdgeVectorIndex

        index = EdgeVectorIndex(settings.home / "qdrant")
    return IngestComponents(read_document, embedders, index)
