"""PDF: text per page with pypdf, structure guessed from the lines (see pdf_layout)."""

from __future__ import annotations

import io

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

from afo_knowledge_ingest.adapters.parsers.cleaning import clean_inline, document
from afo_knowledge_ingest.adapters.parsers.limits import MAX_PAGES, TextBudget
from afo_knowledge_ingest.adapters.parsers.pdf_layout import page_blocks
from afo_knowledge_ingest.domain.documents import Block, ParsedDocument, UnreadableDocument

# Producers fill the title field with placeholders; those say nothing about the document.
_PLACEHOLDER_TITLES = frozenset({"untitled", "title", "document", "microsoft word"})


def parse_pdf(data: bytes) -> ParsedDocument:
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock(reader)
        page_count = len(reader.pages)
    except UnreadableDocument:
        raise
    except LimitReachedError as error:
        raise UnreadableDocument("too_large", f"the PDF exceeds a safety limit: {error}") from None
    except Exception as error:  # pypdf raises anything from PdfReadError to KeyError on a damaged file
        raise UnreadableDocument("corrupt", f"not a readable PDF: {error}") from None
    if page_count > MAX_PAGES:
        raise UnreadableDocument("too_large", f"{page_count} pages; at most {MAX_PAGES} are accepted")

    budget = TextBudget()
    blocks: list[Block] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text()
        except LimitReachedError as error:
            raise UnreadableDocument("too_large", f"page {number} exceeds a safety limit: {error}") from None
        except Exception as error:  # as above: a damaged content stream can fail in many ways
            raise UnreadableDocument("corrupt", f"page {number} cannot be read: {error}") from None
        blocks.extend(page_blocks(budget.spend(text), number))

    return document(
        _metadata_title(reader) or next((b.text for b in blocks if b.kind == "heading" and b.page == 1), None),
        blocks,
        pages=page_count,
        empty_reason="no text layer; scanned PDFs need OCR, which is not supported",
    )


def _unlock(reader: PdfReader) -> None:
    """Opens a PDF locked only by an owner password (an empty user password); refuses one that needs a password."""
    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except DependencyError:
        # AES needs the cryptography package; without it even an empty password cannot be tried.
        raise UnreadableDocument("encrypted", "AES-encrypted PDF and no AES support installed") from None
    except FileNotDecryptedError:
        unlocked = False
    if not unlocked:
        raise UnreadableDocument("encrypted", "the PDF is password-protected")


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a broken info dictionary should not cost the document, only its title
        return None
    cleaned = clean_inline(title) if isinstance(title, str) else ""
    if not cleaned or cleaned.lower() in _PLACEHOLDER_TITLES or cleaned.lower().startswith("microsoft word -"):
        return None
    return cleaned
