"""A parsed document cut into passages to embed, following its structure.

Rules:
- A heading starts a new section; sections are never mixed in one chunk. A chunk's ``heading`` is the path of
  the nearest heading of each level above it ("Pricing > Enterprise"; each part cut to 200 characters), or
  None before the first heading. The chunk's text never starts with its own heading: that is metadata.
- A heading with no body of its own makes no chunk. If the next heading sits under it, the path already
  names it; otherwise its text becomes the first line of the next section's first chunk, so it is not lost.
  Headings with no body at the end of the document form one last chunk of their text.
- The blocks of a section are packed in order while the chunk stays within ``target_chars``. Pieces of one
  block are joined by a space (by a newline for tables and code), consecutive list items by a newline, other
  blocks by a blank line.
- A block longer than ``max_chars`` is cut first: prose at sentence ends (see sentences.py), tables and code
  at line ends; a piece still too long is cut at spaces into pieces of at most ``target_chars``, and a single
  "word" longer than that (a URL, a base64 blob) is cut where it stands. No chunk exceeds ``max_chars``.
- The second and later chunks of a section begin with an overlap: the whole sentences at the end of the
  previous chunk's last block, as many as bring it nearest to ``overlap_chars`` (ties to fewer; possibly none),
  and only when that block is prose: repeating the tail of a table or code makes no sense. The overlap is
  shortened, or dropped, if it would push the chunk past ``max_chars``.
- A last chunk of a section whose own text (overlap aside) is tiny, under min(200, target_chars / 5)
  characters, joins the chunk before it in the same section, if the two fit in ``max_chars``.
- ``page`` is the page of the chunk's first block (an overlap counts: the chunk's text starts there);
  ordinals run from 0 across the document. The same document always gives the same chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from afo_knowledge_ingest.domain.documents import Block, BlockKind, ChunkDraft, ParsedDocument
from afo_knowledge_ingest.domain.sentences import split_sentences

_MAX_HEADING_PART_CHARS = 200
_TINY_CHARS = 200
_PROSE: frozenset[BlockKind] = frozenset({"paragraph", "list_item"})


@dataclass(frozen=True)
class _Unit:
    """A block, or a piece of a block too long to keep whole."""

    text: str
    block: int  # the block's index: pieces of one block are joined differently from separate blocks
    kind: BlockKind
    page: int | None


@dataclass(frozen=True)
class _Section:
    heading: str | None
    units: list[_Unit]


@dataclass
class _Draft:
    units: list[_Unit]
    overlap: int = 0  # how many leading units repeat the end of the previous chunk


def chunk(
    document: ParsedDocument, *, target_chars: int = 1000, max_chars: int = 1500, overlap_chars: int = 150
) -> list[ChunkDraft]:
    if not 0 < target_chars <= max_chars or not 0 <= overlap_chars < target_chars:
        raise ValueError("need 0 < target_chars <= max_chars and 0 <= overlap_chars < target_chars")
    chunks: list[ChunkDraft] = []
    for section in _sections(document.blocks, target_chars, max_chars):
        for draft in _pack(section.units, target_chars, max_chars, overlap_chars):
            text = _join(draft.units)
            chunks.append(ChunkDraft(len(chunks), text, section.heading, draft.units[0].page, len(text)))
    return chunks


def indexed_text(text: str, heading: str | None) -> str:
    """What a chunk is searched by (its dense and sparse vectors): its heading path, then its text. The text
    does not repeat the heading, yet the heading is often the one place a topic is named ("## Onboarding"
    above "Most customers go live within two days")."""
    return f"{heading}\n{text}" if heading else text


def _sections(blocks: list[Block], target: int, limit: int) -> list[_Section]:
    sections: list[_Section] = []
    path: list[int] = []       # indices of the nearest heading of each level above the current position
    pending: list[int] = []    # headings in the path with no body yet
    carried: list[_Unit] = []  # text of headings that had no body and that the next path will not name
    body: list[_Unit] = []
    for index, block in enumerate(blocks):
        if not block.text.strip():
            continue
        if block.kind != "heading":
            body.extend(carried + _units(block, index, target, limit))
            carried, pending = [], []
            continue
        if body:
            sections.append(_Section(_heading_path(blocks, path), body))
            body = []
        for popped in (i for i in pending if blocks[i].level >= block.level):
            carried.extend(_units(blocks[popped], popped, target, limit))
        pending = [i for i in pending if blocks[i].level < block.level] + [index]
        path = [i for i in path if blocks[i].level < block.level] + [index]
    if body:
        sections.append(_Section(_heading_path(blocks, path), body))
    for popped in pending:
        carried.extend(_units(blocks[popped], popped, target, limit))
    if carried:
        sections.append(_Section(_heading_path(blocks, [i for i in path if i not in pending]), carried))
    return sections


def _heading_path(blocks: list[Block], path: list[int]) -> str | None:
    parts = [blocks[i].text for i in path]
    cut = [p if len(p) <= _MAX_HEADING_PART_CHARS else p[: _MAX_HEADING_PART_CHARS - 1] + "…" for p in parts]
    return " > ".join(cut) or None


def _units(block: Block, index: int, target: int, limit: int) -> list[_Unit]:
    if len(block.text) <= limit:
        pieces = [block.text]
    else:
        split = block.text.split("\n") if block.kind in ("table", "code") else split_sentences(block.text)
        pieces = [p for piece in split for p in ([piece] if len(piece) <= limit else _cut_at_spaces(piece, target))]
    return [_Unit(piece, index, block.kind, block.page) for piece in pieces if piece.strip()]


def _cut_at_spaces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:  # no space to cut at: cut the word itself
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def _pack(units: list[_Unit], target: int, limit: int, overlap_chars: int) -> list[_Draft]:
    drafts: list[_Draft] = []
    current = _Draft([])
    for unit in units:
        has_own_text = len(current.units) > current.overlap
        if has_own_text and len(_join([*current.units, unit])) > target:
            drafts.append(current)
            current = _Draft(_overlap(current.units, unit, overlap_chars, limit))
            current.overlap = len(current.units)
        current.units.append(unit)
    if len(current.units) > current.overlap:
        drafts.append(current)
    return _merge_tiny_tail(drafts, min(_TINY_CHARS, target // 5), limit)


def _overlap(previous: list[_Unit], following: _Unit, overlap_chars: int, limit: int) -> list[_Unit]:
    """The whole sentences ending the previous chunk that come nearest to overlap_chars (rules above)."""
    last = previous[-1]
    if overlap_chars == 0 or last.kind not in _PROSE:
        return []
    tail = _join([u for u in previous if u.block == last.block])
    sentences = split_sentences(tail)
    best: list[str] = []
    for count in range(1, len(sentences) + 1):
        candidate = sentences[-count:]
        if abs(len(" ".join(candidate)) - overlap_chars) < abs(len(" ".join(best)) - overlap_chars):
            best = candidate
    while best:
        overlap = _Unit(" ".join(best), last.block, last.kind, last.page)
        if len(_join([overlap, following])) <= limit:
            return [overlap]
        best = best[1:]
    return []


def _merge_tiny_tail(drafts: list[_Draft], tiny: int, limit: int) -> list[_Draft]:
    if len(drafts) < 2:
        return drafts
    previous, tail = drafts[-2], drafts[-1]
    own = tail.units[tail.overlap:]
    merged = _Draft([*previous.units, *own], previous.overlap)
    if len(_join(own)) < tiny and len(_join(merged.units)) <= limit:
        return [*drafts[:-2], merged]
    return drafts


def _join(units: list[_Unit]) -> str:
    parts: list[str] = []
    for before, unit in zip([None, *units], units, strict=False):
        if before is not None:
            parts.append(_separator(before, unit))
        parts.append(unit.text)
    return "".join(parts)


def _separator(before: _Unit, unit: _Unit) -> str:
    if before.block == unit.block:
        return "\n" if unit.kind in ("table", "code") else " "
    return "\n" if before.kind == unit.kind == "list_item" else "\n\n"
