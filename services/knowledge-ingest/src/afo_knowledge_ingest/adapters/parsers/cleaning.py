"""Text as every parser hands it on: decoded, without control characters, whitespace normalised."""

from __future__ import annotations

import codecs
import re
import unicodedata

from afo_knowledge_ingest.domain.documents import Block, BlockKind, ParsedDocument, UnreadableDocument

# Invisible characters that only get in the way of search; ZWJ/ZWNJ stay, some scripts need them.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"})
_ANY_WHITESPACE = re.compile(r"\s+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A clean cp1252 text may still hold form feeds and carriage returns; anything else means binary.
_UNLIKELY_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _strip_controls(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE).translate(_LIGATURES)
    text = unicodedata.normalize("NFC", text)
    return _CONTROLS.sub("", text)


def clean_inline(text: str) -> str:
    """One line of running text: every run of whitespace, newlines included, becomes one space."""
    return _ANY_WHITESPACE.sub(" ", _strip_controls(text)).strip()


def clean_lines(text: str) -> str:
    """Text whose line breaks and indentation mean something (code, table rows): only line ends trimmed."""
    lines = [line.rstrip() for line in _strip_controls(text).expandtabs(4).split("\n")]
    return "\n".join(lines).strip("\n")


def block(kind: BlockKind, text: str, *, level: int = 0, page: int | None = None) -> Block | None:
    """A cleaned block, or None when nothing is left of it."""
    cleaned = clean_lines(text) if kind in ("code", "table") else clean_inline(text)
    return Block(kind, cleaned, level, page) if cleaned.strip() else None


def document(title: str | None, blocks: list[Block], *, pages: int | None = None, empty_reason: str) -> ParsedDocument:
    """The parsed document, refusing one with no text at all."""
    if not blocks:
        raise UnreadableDocument("empty", empty_reason)
    clean_title = clean_inline(title) if title else ""
    return ParsedDocument(title=clean_title or None, blocks=blocks, pages=pages)


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: a BOM wins, then a declared charset Python knows, then UTF-8, then cp1252 if clean.

    cp1252 decodes almost any byte soup, so it is accepted only when the result has no control characters
    other than tab/newline/carriage return/form feed; otherwise the bytes are refused rather than guessed.
    """
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _decode_or_refuse(data, encoding)
    # A declared charset is often wrong (pages saved in one encoding, labelled another): it is tried first,
    # not trusted.
    # Valid UTF-8 may carry a stray NUL (dropped later), but a control in every other character is UTF-16
    # without a BOM or binary; cp1252 decodes nearly anything, so there no control character is allowed.
    candidates = [(declared, 0.01)] if declared and _known_encoding(declared) else []
    for encoding, tolerated in (*candidates, ("utf-8", 0.01), ("cp1252", 0.0)):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(_UNLIKELY_IN_TEXT.findall(text)) <= tolerated * len(text):
            return text
    raise UnreadableDocument("bad_encoding", "the text is neither UTF-8 nor clean Windows-1252")


def _known_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _decode_or_refuse(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise UnreadableDocument("bad_encoding", f"the text is not valid {encoding}: {error.reason}") from None
