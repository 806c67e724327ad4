"""knowledge-ingest's settings: the common ones plus where vectors live, the operator's embeddings endpoint
and how the ingest worker runs."""

from __future__ import annotations

from pydantic import SecretStr

from afo_common.settings import ServiceSettings


class KnowledgeIngestSettings(ServiceSettings):
    # A Qdrant server (AFO_QDRANT_URL); unset: the embedded engine under $AFO_HOME/qdrant.
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    # The operator's OpenAI-compatible embeddings endpoint, for knowledge bases with provider "openai".
    # Tenants' own keys arrive with the credential vault in a later issue.
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = None
    # Ask the endpoint for vectors of this size (models that support it); None: the model's own.
    embeddings_dimension: int | None = None
    ingest_batch_size: int = 32
    # A crashed process's documents are taken over this long after its last batch.
    ingest_lease_s: float = 60.0
    ingest_max_attempts: int = 5
    # How often an idle worker looks for work another replica committed (its own wakes it at once).
    ingest_poll_s: float = 3.0
    ingest_workers: int = 1
    # onnxruntime threads for MiniLM (0: onnxruntime decides).
    onnx_threads: int = 0
