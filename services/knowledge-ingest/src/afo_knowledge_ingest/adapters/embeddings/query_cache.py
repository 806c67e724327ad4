"""A small LRU of query embeddings: agents ask the same questions again, and an embedding costs a model run
(MiniLM, milliseconds of CPU) or a provider round trip (OpenAI, tens of milliseconds and money).

Used from the event loop only, so it needs no lock; vectors are kept as tuples and handed out as fresh
lists so a caller that alters its copy cannot corrupt the cache.
"""

from __future__ import annotations

from collections import OrderedDict


class QueryCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[str, tuple[float, ...]] = OrderedDict()

    def get(self, text: str) -> list[float] | None:
        vector = self._vectors.get(text)
        if vector is None:
            return None
        self._vectors.move_to_end(text)
        return list(vector)

    def put(self, text: str, vector: list[float]) -> None:
        if self._size <= 0:
            return
        self._vectors[text] = tuple(vector)
        self._vectors.move_to_end(text)
        while len(self._vectors) > self._size:
            self._vectors.popitem(last=False)
