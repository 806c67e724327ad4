"""BM25 term weights from qdrant-edge's built-in model (Rust: tokenise, English stop words, Snowball stem,
hash each term to a u32 index).

Documents get BM25 term-frequency weights (k=1.2, b=0.75, avg_len=256), queries weight 1.0 per distinct
term; the vector index multiplies by IDF at query time (`Modifier.Idf` on the sparse vector), so the same
encoder serves the embedded index and a Qdrant server alike. Encoding is microseconds per chunk, so it runs
inline rather than on a worker thread.
"""

from __future__ import annotations

from qdrant_edge import Bm25, Bm25Config
from qdrant_edge import SparseVector as EdgeSparseVector

from afo_knowledge_ingest.domain.vectors import SparseVector


def _to_domain(vector: EdgeSparseVector) -> SparseVector:
    return SparseVector(indices=list(vector.indices), values=[float(v) for v in vector.values])


class Bm25Encoder:
    def __init__(self, language: str = "english") -> None:
        self._model = Bm25(Bm25Config(language=language))

    def encode_document(self, text: str) -> SparseVector:
        return _to_domain(self._model.embed_document(text))

    def encode_query(self, text: str) -> SparseVector:
        return _to_domain(self._model.embed_query(text))
