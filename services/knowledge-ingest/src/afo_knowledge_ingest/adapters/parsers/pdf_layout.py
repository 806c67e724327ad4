"""Blocks from the plain text pypdf extracts from one page: lines to paragraphs, headings and list items.

pypdf gives lines, not structure, so structure is guessed cheaply:
- A paragraph ends at a blank line, before a heading, before a list item, and after a line that ends a
  sentence well short of the page's longest line (pypdf seldom emits blank lines; a short last line is how
  a paragraph looks on paper).
- A heading is a short line (at most 80 characters, 12 words) that starts a paragraph, has a letter, does not
  end in punctuation and is numbered ("2.1 Scope"), in capitals ("PRICING") or in title case ("Our Plans").
  Its level: the depth of its numbering, else 1 for capitals and 2 for title case. A shorter line in
  sentence case ("Opening hours": at most 6 words) is a heading of level 3 when the next line starts a
  sentence (a capital letter) and it does not end in a word that runs on ("from", "the", "our"): the last
  line of a paragraph ends in punctuation, so it is not mistaken.
- A list item starts with a bullet or "1." / "a)"; following lines continue it.
- A line ending in "-" after a letter, followed by a line starting in lower case, is a word broken in two.
- A bare page number ("12", "Page 3 of 9") as the first or last line is a running header/footer, dropped.
"""

from __future__ import annotations

import re

from afo_knowledge_ingest.adapters.parsers.cleaning import block, clean_inline
from afo_knowledge_ingest.domain.documents import Block, BlockKind

_MAX_HEADING_CHARS = 80
_MAX_HEADING_WORDS = 12
_MAX_SENTENCE_CASE_WORDS = 6
_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")
_BULLET = re.compile(r"^(?:[•●▪◦‣∙·\-*\u2013]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+\S")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)
_MINOR_WORDS = frozenset({
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "of", "on", "or", "per", "the", "to",
    "via", "vs", "with",
})
_ENDS_SENTENCE = (".", ",", ";", ":", "!", "?")
# A line ending in one of these runs on into the next: "We met with the people from / Acme Labs".
_SENTENCE_WORDS = frozenset({"the", "our", "your", "their", "my", "we", "you", "is", "are", "was", "be", "that"})


def page_blocks(text: str, page: int) -> list[Block]:
    lines = [clean_inline(line) for line in text.split("\n")]
    lines = _without_page_numbers(lines)
    short_line = 0.7 * max((len(line) for line in lines), default=0)
    blocks: list[Block] = []
    kind: BlockKind = "paragraph"
    current: list[str] = []

    def flush() -> None:
        made = block(kind, _join_lines(current), page=page)
        if made is not None:
            blocks.append(made)
        current.clear()

    for i, line in enumerate(lines):
        if not line:
            flush()
            continue
        starts_paragraph = not current or current[-1].endswith((".", "!", "?", ":"))
        following = next((later for later in lines[i + 1:] if later), "")
        level = _heading_level(line, following) if starts_paragraph else 0
        if level:
            flush()
            blocks.append(Block("heading", line, level, page))
        elif _BULLET.match(line):
            flush()
            kind = "list_item"
            current.append(line)
        else:
            if not current:
                kind = "paragraph"
            current.append(line)
            if line.endswith((".", "!", "?")) and len(line) < short_line:
                flush()
    flush()
    return blocks


def _without_page_numbers(lines: list[str]) -> list[str]:
    text_lines = [i for i, line in enumerate(lines) if line]
    drop = {i for i in (text_lines[:1] + text_lines[-1:]) if _PAGE_NUMBER.match(lines[i])}
    return [line for i, line in enumerate(lines) if i not in drop]


def _heading_level(line: str, following: str = "") -> int:
    words = line.split()
    if (
        len(line) > _MAX_HEADING_CHARS
        or len(words) > _MAX_HEADING_WORDS
        or line.endswith(_ENDS_SENTENCE)
        or _BULLET.match(line)  # "1. Install" is a list item; "1 Install" and "1.2 Install" are headings
        or not any(c.isalpha() for c in line)
    ):
        return 0
    numbered = _NUMBERED.match(line)
    if numbered:
        rest = line[numbered.end(1):].lstrip(". ")
        return numbered.group(1).count(".") + 1 if rest[:1].isupper() else 0
    letters = [c for c in line if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return 1
    significant = [w for w in words if w.lower() not in _MINOR_WORDS and w[:1].isalpha()]
    if words[0][:1].isupper() and all(w[:1].isupper() for w in significant):
        return 2
    if (words[0][:1].isupper() and len(words) <= _MAX_SENTENCE_CASE_WORDS and following[:1].isupper()
            and words[-1].lower() not in _MINOR_WORDS | _SENTENCE_WORDS):
        return 3
    return 0


def _join_lines(lines: list[str]) -> str:
    joined = ""
    for line in lines:
        if joined.endswith("-") and joined[-2:-1].isalpha() and line[:1].islower():
            joined = joined[:-1] + line
        else:
            joined = f"{joined} {line}" if joined else line
    return joined
