"""Each chunk's sentences with their dense vectors, made at ingestion, so a search can score every sentence of
its hits against the query without running a model (``Search.with_sentences``).

- The sentences of a chunk are those of ``sentences.split_sentences`` with at least ``MIN_WORDS`` words: "Yes.",
  "Pricing" or "Call us." say nothing worth scoring on their own. Their order is the chunk's.
- They are embedded with the knowledge base's dense embedder, in the same call as their chunks (one batch),
  and stored on the chunk's row with the space they belong to (``sentence_space``): a search in another
  space (a re-embedding switched it, or old data) gets no sentence scores rather than wrong ones.
- Vectors are kept as int8: ``round(127 * v)`` of the unit vector, ``dimension`` bytes a sentence (384 for
  MiniLM, 4 times smaller than float32). The cosine of the query and the dequantised vector differs from the
  float one by well under 0.01, far below what separates a relevant sentence from another.
- Cost, measured on this 2-core machine with the embedded model (bench.knowledge, 19 documents, 192 chunks,
  843 sentences): ingestion's embedding step goes from 22 to 12 chunks/s (all steps: 21 to 11), every chunk's
  sentences being embedded too. At search, scoring five hits' sentences (384-d) takes 0.6 ms median; with
  the one query that loads them, ``with_sentences`` adds ~1.6 ms a search on PostgreSQL, ~2 ms on SQLite
  (tests/handlers/test_sentences.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from afo_knowledge_ingest.domain.sentences import split_sentences

MIN_WORDS = 3


@dataclass(frozen=True)
class SentenceVectors:
    """A chunk's sentences and their quantised vectors (``len(texts) * dimension`` int8 bytes), in ``space``."""

    space: str
    texts: tuple[str, ...]
    vectors: bytes

    def texts_json(self) -> str:
        return json.dumps(list(self.texts), ensure_ascii=False)

    @classmethod
    def stored(cls, space: str, texts_json: str, vectors: bytes) -> SentenceVectors:
        return cls(space, tuple(json.loads(texts_json)), bytes(vectors))


def worth_scoring(text: str) -> list[str]:
    return [s for s in split_sentences(text) if len(s.split()) >= MIN_WORDS]


def quantise(space: str, texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> SentenceVectors:
    if not texts:
        return SentenceVectors(space, (), b"")
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms == 0, 1.0, norms)
    return SentenceVectors(space, tuple(texts), np.round(unit * 127).astype(np.int8).tobytes())


def relevances(query: Sequence[float], sentences: SentenceVectors) -> list[float]:
    """The cosine of the query and each sentence, in the sentences' order (0 for a zero vector)."""
    if not sentences.texts:
        return []
    q = np.asarray(query, dtype=np.float32)
    matrix = np.frombuffer(sentences.vectors, dtype=np.int8).reshape(len(sentences.texts), -1).astype(np.float32)
    if matrix.shape[1] != q.shape[0]:
        raise ValueError(f"sentence vectors of {matrix.shape[1]} against a query of {q.shape[0]}")
    norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(q)) or 1.0)
    cosines = (matrix @ q) / np.where(norms == 0, 1.0, norms)
    return [round(float(max(-1.0, min(1.0, c))), 6) for c in cosines]
