"""OpenAIEmbedder against afo_testkit's local OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from afo_common import telemetry
from afo_knowledge_ingest.adapters.embeddings.openai_compatible import EmbeddingProviderError, OpenAIEmbedder
from afo_testkit.openai_server import FakeOpenAI, hashed_embedding
from afo_testkit.spans import exported as exported

KEY = "sk-test"


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI([], api_key=KEY) as fake:
        yield fake


def embedder(server: FakeOpenAI, dimension: int | None = 8, *, api_key: str = KEY) -> OpenAIEmbedder:
    return OpenAIEmbedder(server.base_url, api_key, "text-embedding-3-small", dimension, max_retries=2)


async def test_inputs_are_sent_in_requests_of_at_most_64_and_come_back_in_input_order(server: FakeOpenAI) -> None:
    server.embeddings_reversed = True  # rows arrive last first: only `index` says where each belongs
    texts = [f"chunk number {i}" for i in range(150)]
    vectors = await embedder(server).embed_documents(texts)
    assert [len(r["input"]) for r in server.embedding_requests] == [64, 64, 22]
    assert [r["model"] for r in server.embedding_requests] == ["text-embedding-3-small"] * 3
    assert vectors == [pytest.approx(hashed_embedding(t, 8), abs=1e-6) for t in texts]


async def test_the_space_names_the_model_and_the_dimension_learnt_from_the_first_response(server: FakeOpenAI) -> None:
    server.embedding_dimension = 12
    client = embedder(server, None)
    with pytest.raises(RuntimeError, match="start"):
        _ = client.space
    await client.start()
    assert (client.dimension, client.space) == (12, "openai-text-embedding-3-small-12")
    assert len(await client.embed_query("hello")) == 12


async def test_a_429_with_retry_after_is_retried(server: FakeOpenAI) -> None:
    server.fail_next(1, 429, retry_after=1)
    started = time.monotonic()
    vector = await embedder(server).embed_query("what are your opening hours?")
    assert time.monotonic() - started >= 0.9  # the SDK waited as told
    assert len(server.embedding_requests) == 2
    assert vector == pytest.approx(hashed_embedding("what are your opening hours?", 8), abs=1e-6)


async def test_rate_limits_outlasting_the_retries_are_retryable_errors(server: FakeOpenAI) -> None:
    server.fail_next(5, 429, retry_after=0)
    client = OpenAIEmbedder(server.base_url, KEY, "m", 8, max_retries=0)
    with pytest.raises(EmbeddingProviderError, match="unavailable") as caught:
        await client.embed_documents(["a"])
    assert caught.value.retryable


async def test_a_wrong_key_raises_a_clear_permanent_error(server: FakeOpenAI) -> None:
    with pytest.raises(EmbeddingProviderError, match=r"refused the API key \(401\)") as caught:
        await embedder(server, api_key="sk-wrong").embed_documents(["a"])
    assert not caught.value.retryable
    assert len(server.embedding_requests) == 1  # a 401 is not retried


async def test_vectors_of_another_dimension_are_refused(server: FakeOpenAI) -> None:
    server.embedding_dimension = 16
    with pytest.raises(EmbeddingProviderError, match="16-dimensional") as caught:
        await embedder(server, 8).embed_documents(["a", "b"])
    assert not caught.value.retryable


async def test_query_embeddings_are_cached(server: FakeOpenAI) -> None:
    client = embedder(server)
    first = await client.embed_query("same question")
    first.append(99.0)  # a caller altering its copy must not reach the cache
    second = await client.embed_query("same question")
    assert len(server.embedding_requests) == 1
    assert second == pytest.approx(hashed_embedding("same question", 8), abs=1e-6)


@pytest.mark.parametrize(("api_key", "failure", "status"), [(KEY, None, 200), ("sk-wrong", None, 401),
                                                            (KEY, 503, 503)])
async def test_each_request_is_one_client_span_of_the_work_that_made_it(
        server: FakeOpenAI, exported: InMemorySpanExporter, api_key: str, failure: int | None, status: int) -> None:
    if failure is not None:
        server.fail_next(1, failure)
    client = OpenAIEmbedder(server.base_url, api_key, "text-embedding-3-small", 8, max_retries=0)
    with telemetry.span_from(None, "consume knowledge.document.uploaded") as work:
        if status == 200:
            assert len(await client.embed_query("opening hours")) == 8
        else:
            with pytest.raises(EmbeddingProviderError):
                await client.embed_query("opening hours")
    await client.close()

    [call] = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert call.name == "POST embeddings"
    assert call.parent is not None and call.parent.span_id == work.get_span_context().span_id
    attributes = dict(call.attributes or {})
    assert set(attributes) - {"error.type"} == {
        "afo.provider", "http.request.method", "server.address", "http.response.status_code"}
    assert (attributes["afo.provider"], attributes["server.address"]) == ("embeddings", "127.0.0.1")
    assert attributes["http.response.status_code"] == status
    assert call.status.status_code is (StatusCode.ERROR if status >= 400 else StatusCode.UNSET)
    recorded = " ".join(str(value) for value in attributes.values())
    for secret in (api_key, "Bearer", "/v1", "opening hours"):
        assert secret not in recorded
