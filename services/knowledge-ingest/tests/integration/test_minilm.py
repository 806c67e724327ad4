"""MiniLmEmbedder on the packaged int8 ONNX model and the committed tokenizer."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from afo_knowledge_ingest.adapters.embeddings import minilm
from afo_knowledge_ingest.adapters.embeddings.minilm import MiniLmEmbedder


@pytest.fixture
async def embedder() -> AsyncIterator[MiniLmEmbedder]:
    model = MiniLmEmbedder(intra_op_threads=1, batch_size=4)
    await model.start()
    yield model
    await model.close()


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))  # the vectors are unit length (checked below)


def test_the_committed_tokenizer_is_the_one_its_notice_names() -> None:
    folder = Path(minilm.__file__).parent / "minilm_tokenizer"
    digest = hashlib.sha256((folder / "tokenizer.json").read_bytes()).hexdigest()
    assert digest in (folder / "NOTICE").read_text()
    assert "Apache License" in (folder / "LICENSE").read_text()


async def test_vectors_are_unit_length_and_384_wide(embedder: MiniLmEmbedder) -> None:
    vectors = await embedder.embed_documents(["A short one.", "word " * 600, ""])  # 600 words: truncated
    assert (embedder.space, embedder.dimension) == ("minilm-l6-v2-int8-384", 384)
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)


async def test_related_sentences_are_closer_than_unrelated_ones(embedder: MiniLmEmbedder) -> None:
    query = await embedder.embed_query("How do I reset my password?")
    related, unrelated = await embedder.embed_documents(
        [
            "To change a forgotten password, click 'Forgot password' on the login page.",
            "Our office dog is a golden retriever named Biscuit.",
        ]
    )
    assert cosine(query, related) > 0.5
    assert cosine(query, related) > cosine(query, unrelated) + 0.3


async def test_a_batch_gives_the_vectors_each_text_gets_alone(embedder: MiniLmEmbedder) -> None:
    texts = [
        "tiny",
        "a somewhat longer sentence about invoices and payment terms",
        "mid length text here",
        "x",
        "the fifth text spills into a second batch of four",
    ]
    batched = await embedder.embed_documents(texts)
    for text, vector in zip(texts, batched, strict=True):
        alone = (await embedder.embed_documents([text]))[0]
        assert np.abs(np.subtract(vector, alone)).max() < 1e-5
    assert np.abs(np.subtract(await embedder.embed_query(texts[1]), batched[1])).max() < 1e-5
