"""What an uploaded document is, decided from its bytes: the name and Content-Type a client sends are
whatever its software guessed, so they only break a tie between text formats or expose a mislabelled file.

Rules, in order:
1. ``%PDF-`` in the first KiB (the PDF spec lets a header follow some junk) → PDF.
2. A zip whose directory lists ``word/document.xml`` → DOCX; any other zip (xlsx, pptx, odt, a plain zip)
   → refused. Only the central directory is read, nothing is inflated, so a zip bomb costs nothing here.
3. Otherwise it must be text: UTF-8 (a BOM is fine) or UTF-16 with a BOM, with no control characters
   but tab, newline, carriage return and form feed (binary formats that happen to decode are refused).
   A name ending in a binary format's extension (``.pdf``, ``.png``, …) is then a mislabelled or broken
   file: refused rather than indexed as gibberish.
4. Text is HTML when it opens like a page (``<!doctype html``, ``<html``); else the extension decides
   (``.md``/``.markdown``, ``.html``/``.htm``), then the declared type (``text/markdown``, ``text/html``),
   then HTML tags near the start (``<body``, ``<p>``, ``<div``…: a fragment); else plain text. Markdown
   files often open with inline HTML (``<p align="center">``), hence the extension before weak tags.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from afo_common.rpcs.knowledge_ingest import MEDIA_TYPES, MediaType
from afo_gateway.domain.errors import Invalid, UnsupportedMediaType

PDF: MediaType = "application/pdf"
DOCX: MediaType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML: MediaType = "text/html"
MARKDOWN: MediaType = "text/markdown"
TEXT: MediaType = "text/plain"
ACCEPTED = "PDF, DOCX, HTML, Markdown or plain text (UTF-8, or UTF-16 with a byte order mark)"

MAX_NAME = 255
_ZIP_MAGIC = b"PK\x03\x04"
# C0 controls but tab, newline, form feed and carriage return, and DEL: text documents do not hold them.
_BINARY_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BINARY_EXTENSIONS = {
    ".pdf", ".docx", ".doc", ".xlsx", ".xls", ".pptx", ".ppt", ".odt", ".zip", ".gz", ".png", ".jpg", ".jpeg",
    ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico", ".exe", ".dll", ".so", ".bin", ".mp3", ".mp4", ".wav",
}
_STRONG_HTML = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_WEAK_HTML = re.compile(r"<(head|body|p|div|h[1-6]|table|ul|ol|article|section|title)[\s>]", re.IGNORECASE)
_HTML_SNIFF_CHARS = 4096


@dataclass(frozen=True)
class Upload:
    """A document as it arrived: the bytes, with the file name and type the client (or web server) gave."""

    name: str | None
    declared_type: str | None
    data: bytes


def _refuse(detail: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(f"{detail}; accepted: {ACCEPTED}", MEDIA_TYPES)


def extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def media_type_of(data: bytes, name: str, declared: str | None = None) -> MediaType:
    """The document's type, from its bytes; raises ``Invalid`` (empty) or ``UnsupportedMediaType``."""
    if not data:
        raise Invalid("the document is empty")
    ext = extension(name)
    if b"%PDF-" in data[:1024]:
        return PDF
    if data.startswith(_ZIP_MAGIC):
        return _zip_type(data)
    text = decode_text(data)
    if text is None:
        raise _refuse("the document is neither a PDF, a DOCX nor text")
    if ext in _BINARY_EXTENSIONS:
        raise _refuse(f"the document is named {ext} but holds text")
    return _text_type(text, ext, _essence(declared))


def _zip_type(data: bytes) -> MediaType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise _refuse("the document is a damaged zip archive") from exc
    if "word/document.xml" in names:
        return DOCX
    raise _refuse("the document is a zip archive that is not a Word document (xlsx, pptx, odt, zip…)")


def decode_text(data: bytes) -> str | None:
    """The text, or None when these bytes are not text in an encoding we accept."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not data.startswith(codecs.BOM_UTF32_LE):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    if _BINARY_CHARACTERS.search(text):
        return None
    return text


def _essence(declared: str | None) -> str:
    return (declared or "").split(";", 1)[0].strip().lower()


def _text_type(text: str, ext: str, declared: str) -> MediaType:
    head = text[:_HTML_SNIFF_CHARS]
    if _STRONG_HTML.match(head):
        return HTML
    if ext in (".md", ".markdown"):
        return MARKDOWN
    if ext in (".html", ".htm"):
        return HTML
    if declared in (MARKDOWN, "text/x-markdown"):
        return MARKDOWN
    if declared in (HTML, "application/xhtml+xml"):
        return HTML
    if _WEAK_HTML.search(head):
        return HTML
    return TEXT


def safe_name(name: str | None, fallback: str = "document") -> str:
    """A display name: no directories (a browser on Windows may send ``C:\\Users\\…``), no control or
    format characters (they hide text in logs and consoles), at most 255 characters with the extension
    kept, never empty."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base)
                   if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    base = base.strip().strip(".") or fallback
    if len(base) > MAX_NAME:
        ext = extension(base)
        ext = ext if 1 < len(ext) <= 16 else ""
        base = base[: MAX_NAME - len(ext)].rstrip() + ext
    return base
