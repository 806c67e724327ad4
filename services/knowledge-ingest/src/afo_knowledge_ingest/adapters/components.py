"""The real adapters of ingestion, built in one place: how documents are read (kb-parse), the embedders and
the vector index (kb-vectors). ``app.build`` takes ``IngestComponents``; tests give it fakes.

The adapter modules are imported when ``build_components`` runs, by name: they arrive on other branches,
and a missing one must fail the start of the service with its name, not the import of this package."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from afo_knowledge_ingest.domain.documents import ChunkDraft, ParsedDocument
from afo_knowledge_ingest.domain.vectors import DenseEmbedder, VectorIndex
from afo_knowledge_ingest.handlers.embedders import EmbedderRegistry
from afo_knowledge_ingest.handlers.ports import DocumentReader
from afo_knowledge_ingest.settings import KnowledgeIngestSettings

_PACKAGE = "afo_knowledge_ingest.adapters"


@dataclass(frozen=True)
class IngestComponents:
    reader: DocumentReader
    embedders: EmbedderRegistry
    index: VectorIndex


def _load(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"{_PACKAGE}.{module}"), name)


def build_components(settings: KnowledgeIngestSettings) -> IngestComponents:
    parse = _load("parsers", "parse")
    chunk = importlib.import_module("afo_knowledge_ingest.domain.chunking").chunk

    def read(data: bytes, media_type: str, filename: str) -> tuple[ParsedDocument, list[ChunkDraft]]:
        document: ParsedDocument = parse(data, media_type, filename)
        drafts: list[ChunkDraft] = chunk(document)
        return document, drafts

    minilm, bm25 = _load("embeddings.minilm", "MiniLmEmbedder"), _load("embeddings.bm25", "Bm25Encoder")
    openai: Callable[[str], DenseEmbedder] | None = None
    if settings.embeddings_base_url:
        endpoint = _load("embeddings.openai_compatible", "OpenAIEmbedder")
        key = settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else None
        base_url = settings.embeddings_base_url

        def openai_for(model: str) -> DenseEmbedder:
            embedder: DenseEmbedder = endpoint(base_url, key, model, settings.embeddings_dimension)
            return embedder

        openai = openai_for
    # TODO(kb-vectors merge): pass settings.onnx_threads once MiniLmEmbedder's constructor is known.
    embedders = EmbedderRegistry(lambda: minilm(), openai, bm25())
    if settings.qdrant_url:
        from qdrant_client import AsyncQdrantClient

        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        index: VectorIndex = _load("vectors.qdrant_server_index", "QdrantServerIndex")(
            AsyncQdrantClient(url=settings.qdrant_url, api_key=api_key))
    else:
        index = _load("vectors.edge_index", "EdgeVectorIndex")(settings.home / "qdrant")
    return IngestComponents(read, embedders, index)
