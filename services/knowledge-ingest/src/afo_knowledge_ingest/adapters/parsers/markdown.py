"""Markdown from markdown-it-py's token stream (CommonMark plus tables); inline markup reduced to its text."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from afo_knowledge_ingest.adapters.parsers.cleaning import block, clean_inline, decode_text, document
from afo_knowledge_ingest.adapters.parsers.limits import MAX_TEXT_CHARS, TextBudget
from afo_knowledge_ingest.domain.documents import Block, ParsedDocument, UnreadableDocument

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_MATTER_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.MULTILINE)
_HTML_TAG = re.compile(r"<[^>]*>")


def parse_markdown(data: bytes) -> ParsedDocument:
    text = decode_text(data)
    if len(text) > MAX_TEXT_CHARS:
        raise UnreadableDocument("too_large", f"more than {MAX_TEXT_CHARS:,} characters of text")
    front_title, text = _split_front_matter(text)
    parser = MarkdownIt("commonmark").enable("table")
    blocks = _blocks(parser.parse(text))
    budget = TextBudget()
    for made in blocks:
        budget.spend(made.text)
    headings = [b for b in blocks if b.kind == "heading"]
    top = min((b.level for b in headings), default=0)
    first_top = next((b.text for b in headings if b.level == top), None)
    return document(front_title or first_top, blocks, empty_reason="the document has no text")


def _split_front_matter(text: str) -> tuple[str | None, str]:
    """YAML front matter is metadata, not content; only its title is kept (quotes removed)."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None, text
    title = _FRONT_MATTER_TITLE.search(match.group(1))
    return (title.group(1).strip("\"'") if title else None), text[match.end():]


def _blocks(tokens: list[Token]) -> list[Block]:
    blocks: list[Block] = []
    list_depth = 0
    table_rows: list[list[str]] | None = None
    heading_level = 0
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif kind == "heading_open":
            heading_level = int(token.tag[1:])
        elif kind == "heading_close":
            heading_level = 0
        elif kind == "table_open":
            table_rows = []
        elif kind == "tr_open" and table_rows is not None:
            table_rows.append([])
        elif kind == "table_close" and table_rows is not None:
            _append(blocks, block("table", "\n".join(" | ".join(row) for row in table_rows if any(row))))
            table_rows = None
        elif kind in ("fence", "code_block"):
            _append(blocks, block("code", token.content))
        elif kind == "html_block":
            _append(blocks, block("paragraph", _HTML_TAG.sub(" ", token.content)))
        elif kind == "inline":
            text = _inline_text(token)
            if table_rows is not None and table_rows:
                table_rows[-1].append(clean_inline(text))
            elif heading_level:
                _append(blocks, block("heading", text, level=heading_level))
            else:
                _append(blocks, block("list_item" if list_depth else "paragraph", text))
    return blocks


def _append(blocks: list[Block], made: Block | None) -> None:
    if made is not None:
        blocks.append(made)


def _inline_text(token: Token) -> str:
    """Plain text of an inline token: link and emphasis markup dropped, image alt text and code kept."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):  # an image's content is its alt text
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)
