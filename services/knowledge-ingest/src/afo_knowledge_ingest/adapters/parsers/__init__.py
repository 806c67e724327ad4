"""Bytes of an uploaded document to a ParsedDocument, by media type; pure and synchronous (run it in a thread).

Every refusal is an ``UnreadableDocument`` with one of these codes:
- ``unsupported_type``: a media type (or, for a generic one, a file extension) no parser reads;
- ``empty``: no text at all (an empty file; a PDF without a text layer; HTML that is only scripts);
- ``corrupt``: the library cannot read the bytes as that format;
- ``encrypted``: password-protected;
- ``bad_encoding``: text that is not UTF-8/UTF-16 with a BOM/clean Windows-1252;
- ``too_large``: past a safety limit (pages, extracted characters, unzipped size).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from afo_knowledge_ingest.adapters.parsers.html import parse_html
from afo_knowledge_ingest.adapters.parsers.markdown import parse_markdown
from afo_knowledge_ingest.adapters.parsers.pdf import parse_pdf
from afo_knowledge_ingest.adapters.parsers.plain_text import parse_plain_text
from afo_knowledge_ingest.adapters.parsers.wordprocessing import parse_docx
from afo_knowledge_ingest.domain.documents import ParsedDocument, UnreadableDocument

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PARSERS: dict[str, Callable[[bytes], ParsedDocument]] = {
    "application/pdf": parse_pdf,
    DOCX: parse_docx,
    "text/html": parse_html,
    "application/xhtml+xml": parse_html,
    "text/markdown": parse_markdown,
    "text/x-markdown": parse_markdown,
    "text/plain": parse_plain_text,
}
# Browsers and some clients send these when they do not know; then the extension decides.
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_BY_EXTENSION = {
    ".pdf": "application/pdf", ".docx": DOCX, ".html": "text/html", ".htm": "text/html",
    ".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain",
}

SUPPORTED_MEDIA_TYPES = frozenset(_PARSERS)


def parse(data: bytes, media_type: str, filename: str) -> ParsedDocument:
    """Parses a document; the title falls back to the file name (without extension) when the document has none."""
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind in _GENERIC_TYPES:
        kind = _BY_EXTENSION.get(PurePosixPath(filename.lower()).suffix, kind)
    parser = _PARSERS.get(kind)
    if parser is None:
        raise UnreadableDocument("unsupported_type", f"documents of type {media_type or 'unknown'!r} are not supported")
    if not data.strip():
        raise UnreadableDocument("empty", "the file is empty")
    parsed = parser(data)
    if parsed.title is None:
        fallback = PurePosixPath(filename.replace("\\", "/")).stem.strip()
        return ParsedDocument(title=fallback or None, blocks=parsed.blocks, pages=parsed.pages)
    return parsed


__all__ = ["SUPPORTED_MEDIA_TYPES", "parse"]
