"""Which embedder makes which space's vectors.

The embedded provider (all-MiniLM-L6-v2, in process) is always there. The ``openai`` provider calls the
operator's OpenAI-compatible endpoint (``AFO_EMBEDDINGS_BASE_URL`` / ``AFO_EMBEDDINGS_API_KEY``) with the
knowledge base's model; tenants' own keys arrive with the credential vault in a later issue, and will then
come with the knowledge base rather than from the operator's settings."""

from __future__ import annotations

from collections.abc import Callable

from afo_knowledge_ingest.domain.errors import ProviderNotConfigured
from afo_knowledge_ingest.domain.spaces import EMBEDDED_SPACE, space_model, space_name
from afo_knowledge_ingest.domain.vectors import DenseEmbedder, SparseEncoder


class EmbedderRegistry:
    """``embedded`` builds the MiniLM embedder, ``openai`` an endpoint's embedder for a model (None: no
    endpoint configured). Each is built once per space, when first asked for; the embedded one is warmed at
    the service's start (``warm``), so the first search after a start or a restart does not load the model."""

    def __init__(self, embedded: Callable[[], DenseEmbedder], openai: Callable[[str], DenseEmbedder] | None,
                 sparse: SparseEncoder) -> None:
        self._embedded = embedded
        self._openai = openai
        self._sparse = sparse
        self._built: dict[str, DenseEmbedder] = {}

    def space(self, provider: str, model: str) -> str:
        if provider == "embedded":
            return space_name("embedded", model)
        if provider == "openai":
            if self._openai is None:
                raise ProviderNotConfigured(
                    "the openai embedding provider needs an endpoint: the operator sets AFO_EMBEDDINGS_BASE_URL "
                    "(and AFO_EMBEDDINGS_API_KEY); until then use the embedded provider"
                )
            return space_name("openai", model)
        raise ProviderNotConfigured(f"unknown embedding provider {provider!r}")

    async def warm(self) -> None:
        await self.dense(EMBEDDED_SPACE).start()

    def dense(self, space: str) -> DenseEmbedder:
        if space not in self._built:
            provider, model = space_model(space)
            if provider == "embedded":
                self._built[space] = self._embedded()
            elif self._openai is None:
                raise ProviderNotConfigured(f"space {space} needs the openai endpoint, which is not configured")
            else:
                self._built[space] = self._openai(model)
        return self._built[space]

    @property
    def sparse(self) -> SparseEncoder:
        return self._sparse
