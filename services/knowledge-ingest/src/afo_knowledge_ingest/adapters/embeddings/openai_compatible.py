"""Dense embeddings from any server speaking OpenAI's `POST /v1/embeddings` (OpenAI, Azure-compatible
gateways, vLLM, TEI, Ollama, LM Studio), through the official SDK.

- Inputs go in requests of at most `batch_size` (64): far below OpenAI's 2,048-input cap, small enough that
  one failed request re-sends little, large enough that a 500-chunk document is 8 round trips.
- Rows are placed by their `index`, never by position: the wire format does not promise order.
- Retries (429 honouring Retry-After, 408/409/5xx, connection errors) are the SDK's, with backoff;
  what is left after them becomes an EmbeddingProviderError saying whether retrying later can help.
- The space is `openai-<model slug>-<dimension>`; without a configured dimension the first response (or
  `start()`, which sends one probe) teaches it, and from then on every vector must have it.
- `encoding_format="float"`: the SDK would ask for base64 (smaller), but not every compatible server
  knows it, and plain floats are what all of them return.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import openai

from afo_common.telemetry import answered, provider_span
from afo_knowledge_ingest.adapters.embeddings.query_cache import QueryCache


class EmbeddingProviderError(Exception):
    """The provider failed for good (`retryable=False`: bad key, unknown model, wrong dimension) or for now
    (`retryable=True`: rate limit or outage outlasting the SDK's retries)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def model_slug(model: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")


class OpenAIEmbedder:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        dimension: int | None = None,
        *,
        batch_size: int = 64,
        max_retries: int = 4,
        timeout_s: float = 60.0,
        send_dimensions: bool = False,
        query_cache_size: int = 1024,
    ) -> None:
        """`send_dimensions` asks the provider to shorten vectors to `dimension` (text-embedding-3 and later
        only; other models reject the field, hence off by default)."""
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, max_retries=max_retries, timeout=timeout_s
        )
        self._base_url = base_url
        self._model = model
        self._dimension = dimension
        self._batch_size = batch_size
        self._send_dimensions = send_dimensions and dimension is not None
        self._queries = QueryCache(query_cache_size)

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            raise RuntimeError(f"the dimension of {self._model!r} is learnt from its first response: call start()")
        return self._dimension

    @property
    def space(self) -> str:
        return f"openai-{model_slug(self._model)}-{self.dimension}"

    async def start(self) -> None:
        """Learns the dimension (one request) when it was not configured, and proves the key works."""
        if self._dimension is None:
            await self._request(["dimension probe"])

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors += await self._request(texts[start : start + self._batch_size])
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        cached = self._queries.get(text)
        if cached is not None:
            return cached
        [vector] = await self._request([text])
        self._queries.put(text, vector)
        return vector

    async def close(self) -> None:
        await self._client.close()

    async def _request(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        try:
            with provider_span("embeddings", "POST", self._base_url) as span:
                try:
                    response = await self._client.embeddings.create(
                        model=self._model,
                        input=list(texts),
                        encoding_format="float",
                        dimensions=self._dimension if self._send_dimensions and self._dimension else openai.omit,
                    )
                except openai.APIStatusError as exc:
                    answered(span, exc.status_code)
                    raise
                answered(span, 200)
        except openai.AuthenticationError as exc:
            raise EmbeddingProviderError(
                f"the embeddings provider at {self._base_url} refused the API key (401): {exc.message}",
                retryable=False,
            ) from exc
        except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError) as exc:
            raise EmbeddingProviderError(
                f"the embeddings provider at {self._base_url} is unavailable after retries: {exc}", retryable=True
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbeddingProviderError(
                f"the embeddings provider at {self._base_url} refused model {self._model!r} "
                f"({exc.status_code}): {exc.message}",
                retryable=exc.status_code in (408, 409),
            ) from exc
        return self._place(texts, [(row.index, row.embedding) for row in response.data])

    def _place(self, texts: Sequence[str], rows: list[tuple[int, list[float]]]) -> list[list[float]]:
        if sorted(index for index, _ in rows) != list(range(len(texts))):
            raise EmbeddingProviderError(
                f"the embeddings provider at {self._base_url} answered {len(rows)} rows with indices "
                f"{sorted(i for i, _ in rows)[:8]}... for {len(texts)} inputs",
                retryable=False,
            )
        vectors: list[list[float]] = [[] for _ in texts]
        for index, embedding in rows:
            if self._dimension is None:
                self._dimension = len(embedding)
            if len(embedding) != self._dimension:
                raise EmbeddingProviderError(
                    f"model {self._model!r} at {self._base_url} returned a {len(embedding)}-dimensional vector, "
                    f"but this knowledge base's space {self.space} holds {self._dimension}-dimensional ones",
                    retryable=False,
                )
            vectors[index] = [float(x) for x in embedding]
        return vectors
