"""What a parser refuses to do, so that one upload cannot take the worker's memory or time."""

from __future__ import annotations

from afo_knowledge_ingest.domain.documents import UnreadableDocument

MAX_PAGES = 2_000
MAX_TEXT_CHARS = 5_000_000
# A .docx is a zip; python-docx inflates its parts whole, so a bomb must be refused before it is opened.
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024


class TextBudget:
    """Counts extracted characters and refuses past MAX_TEXT_CHARS, while extraction is still running."""

    def __init__(self, limit: int = MAX_TEXT_CHARS) -> None:
        self._limit = limit
        self._used = 0

    def spend(self, text: str) -> str:
        self._used += len(text)
        if self._used > self._limit:
            raise UnreadableDocument("too_large", f"more than {self._limit:,} characters of text")
        return text
