"""The tenant's documents as the engines see them: passages a search found, the port that finds them, and
what a turn learned from looking (passages, or that the search failed)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a passage with its own relevance to the question (cosine, as ``Passage.relevance``)."""

    text: str
    relevance: float


@dataclass(frozen=True)
class Passage:
    """A chunk of a document, as ranked by a search."""

    text: str
    title: str
    page: int | None
    document_id: str
    score: float  # rank-fused: orders one search's passages, means nothing across searches
    # Cosine of question and passage, comparable across searches; None when the search had no dense space.
    relevance: float | None = None
    chunk_id: str | None = None
    knowledge_base_id: str | None = None
    heading: str | None = None
    # The passage's sentences worth scoring, in order, each with its relevance to the question; None when the
    # search gives none (no sentence vectors in the searched space, or an engine that does not ask).
    sentences: tuple[ScoredSentence, ...] | None = None


class KnowledgeUnavailable(Exception):
    """The search could not be carried out (the service is down, slow or answered nonsense). The turn goes
    on: the lead is told the answer cannot be looked up right now."""


class KnowledgeSearch(Protocol):
    async def search(
        self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int
    ) -> list[Passage]:
        """Best first; raises KnowledgeUnavailable when the search cannot be done."""
        ...


@dataclass(frozen=True)
class Lookup:
    """What a turn found in the documents before the engine decided: passages, or a failed search."""

    passages: tuple[Passage, ...] = ()
    failed: bool = False


def usable(passages: Iterable[Passage], knowledge_base_ids: Sequence[str]) -> list[Passage]:
    """The passages an agent may answer from: with text, and of one of its own knowledge bases (a passage
    naming none is taken as the search's answer for the bases it was asked about)."""
    allowed = set(knowledge_base_ids)
    return [
        p for p in passages
        if p.text.strip() and (p.knowledge_base_id is None or p.knowledge_base_id in allowed)
    ]
