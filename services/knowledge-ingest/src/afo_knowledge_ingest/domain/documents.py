"""What a parsed document is made of, and the chunks cut from it: plain values, no framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table", "code"]


@dataclass(frozen=True)
class Block:
    """One structural piece of a document, in reading order, with where it stands."""

    kind: BlockKind
    text: str
    level: int = 0            # a heading's level (1 = top); 0 for body text
    page: int | None = None   # 1-based page, for formats that have pages (PDF)


@dataclass(frozen=True)
class ParsedDocument:
    title: str | None
    blocks: list[Block]
    pages: int | None = None  # number of pages, for formats that have them


@dataclass(frozen=True)
class ChunkDraft:
    """A passage ready to embed: its text, the heading path above it and the page it starts on."""

    ordinal: int
    text: str
    heading: str | None = None   # "Pricing > Enterprise": the headings that contain it
    page: int | None = None
    char_count: int = field(default=0)


class UnreadableDocument(Exception):
    """The bytes are not a readable document of the declared type; ``code`` is machine-readable."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
