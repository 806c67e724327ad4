"""Plain text: paragraphs split on blank lines, bulleted lines as list items, a short first line as title."""

from __future__ import annotations

import re

from afo_knowledge_ingest.adapters.parsers.cleaning import block, clean_inline, decode_text, document
from afo_knowledge_ingest.adapters.parsers.limits import MAX_TEXT_CHARS
from afo_knowledge_ingest.domain.documents import Block, ParsedDocument, UnreadableDocument

_MAX_TITLE_CHARS = 100
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_BULLET = re.compile(r"^\s*(?:[•●▪◦‣*\-\u2013]|\d{1,3}[.)])\s+\S")


def parse_plain_text(data: bytes) -> ParsedDocument:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_CHARS:
        raise UnreadableDocument("too_large", f"more than {MAX_TEXT_CHARS:,} characters of text")
    title, body = _split_title(text)
    blocks: list[Block] = [Block("heading", title, 1)] if title else []
    for paragraph in _PARAGRAPH_BREAK.split(body):
        blocks.extend(_paragraph_blocks(paragraph))
    return document(title, blocks, empty_reason="the file has no text")


def _split_title(text: str) -> tuple[str | None, str]:
    """A short first line that is not a sentence or a list item is the title, and heads the document."""
    stripped = text.lstrip()
    first, _, rest = stripped.partition("\n")
    candidate = clean_inline(first)
    if (
        not candidate
        or len(candidate) > _MAX_TITLE_CHARS
        or candidate.endswith((".", "!", "?", ",", ";", ":"))
        or _BULLET.match(first)
    ):
        return None, text
    return candidate, rest


def _paragraph_blocks(paragraph: str) -> list[Block]:
    """A paragraph, or one list item per bulleted line (a line without a bullet continues the item)."""
    items: list[list[str]] = []
    loose: list[str] = []
    for line in paragraph.split("\n"):
        if _BULLET.match(line):
            items.append([line])
        elif items:
            items[-1].append(line)
        else:
            loose.append(line)
    made = [block("paragraph", " ".join(loose))] + [block("list_item", " ".join(item)) for item in items]
    return [b for b in made if b is not None]
