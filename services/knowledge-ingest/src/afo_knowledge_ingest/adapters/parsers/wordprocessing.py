"""Word (.docx) with python-docx: styles say what a paragraph is; tables become one block each."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from afo_knowledge_ingest.adapters.parsers.cleaning import block, clean_inline, document
from afo_knowledge_ingest.adapters.parsers.limits import MAX_UNZIPPED_BYTES, TextBudget
from afo_knowledge_ingest.domain.documents import Block, ParsedDocument, UnreadableDocument

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def parse_docx(data: bytes) -> ParsedDocument:
    _check_package(data)
    try:
        word = docx.Document(io.BytesIO(data))
        core_title = word.core_properties.title
        content = list(word.iter_inner_content())
    except Exception as error:  # python-docx and lxml raise many kinds of errors on a damaged package
        raise UnreadableDocument("corrupt", f"not a readable Word document: {error}") from None

    budget = TextBudget()
    blocks: list[Block] = []
    title_paragraph: str | None = None
    for item in content:
        made = _table_block(item) if isinstance(item, Table) else _paragraph_block(item)
        if made is None:
            continue
        budget.spend(made.text)
        blocks.append(made)
        if isinstance(item, Paragraph) and _style_name(item) == "title" and title_paragraph is None:
            title_paragraph = made.text
    first_heading = next((b.text for b in blocks if b.kind == "heading"), None)
    return document(core_title or title_paragraph or first_heading, blocks, empty_reason="the document has no text")


def _check_package(data: bytes) -> None:
    """Refuses what python-docx would choke on or inflate without limit, before it is opened."""
    if data.startswith(_OLE_MAGIC):
        # Word saves a password-protected .docx inside an OLE container with an EncryptionInfo stream;
        # any other OLE file is a legacy binary .doc.
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise UnreadableDocument("encrypted", "the Word document is password-protected")
        raise UnreadableDocument("unsupported_type", "a legacy binary .doc, not a .docx; save it as .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise UnreadableDocument("corrupt", f"not a readable Word document: {error}") from None
    if not any(entry.filename == "word/document.xml" for entry in entries):
        raise UnreadableDocument("corrupt", "a zip archive, but not a Word document (no word/document.xml)")
    if sum(entry.file_size for entry in entries) > MAX_UNZIPPED_BYTES:
        raise UnreadableDocument("too_large", f"unpacks to more than {MAX_UNZIPPED_BYTES:,} bytes")


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "").strip().lower() if style is not None else ""


def _paragraph_block(paragraph: Paragraph) -> Block | None:
    style = _style_name(paragraph)
    heading = _HEADING_STYLE.match(style)
    if heading:
        return block("heading", paragraph.text, level=max(1, int(heading.group(1))))
    if style == "title":
        return block("heading", paragraph.text, level=1)
    if style.startswith("list"):
        return block("list_item", paragraph.text)
    return block("paragraph", paragraph.text)


def _table_block(table: Table) -> Block | None:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A cell spanning several grid columns comes back once per column: keep it once.
            if previous is not None and cell._tc is previous._tc:
                continue
            previous = cell
            cells.append(clean_inline(cell.text))
        if any(cells):
            rows.append(" | ".join(cells))
    return block("table", "\n".join(rows))
