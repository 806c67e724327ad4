"""What an upload is, decided from real bytes: PDF and DOCX by their structure, text by its encoding, and
everything else (images, spreadsheets, executables, random bytes) refused with the accepted types."""

import codecs
import io
import os
import zipfile

import pytest

from afo_common.rpcs.knowledge_ingest import MEDIA_TYPES
from afo_gateway.domain.documents import DOCX, HTML, MARKDOWN, PDF, TEXT, media_type_of, safe_name
from afo_gateway.domain.errors import Invalid, UnsupportedMediaType

PDF_BYTES = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
             b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + bytes(56)
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48)


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


DOCX_BYTES = zipped("_rels/.rels", "word/document.xml", "word/styles.xml")
XLSX_BYTES = zipped("_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml")


@pytest.mark.parametrize(
    ("data", "name", "declared", "expected"),
    [
        (PDF_BYTES, "report.pdf", "application/pdf", PDF),
        (PDF_BYTES, "report", None, PDF),
        (b"\r\n" + PDF_BYTES, "scan.pdf", "application/octet-stream", PDF),  # junk before the header
        (DOCX_BYTES, "terms.docx", None, DOCX),
        (DOCX_BYTES, "terms", "application/octet-stream", DOCX),
        (b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", "page.txt", "text/plain", HTML),
        (b"  <!-- saved --> <html lang='en'><p>Hi</p></html>", "page", None, HTML),
        (b"<p>Pricing starts at $20.</p>", "snippet", None, HTML),
        (b"# Pricing\n\nPlans start at $20.\n", "pricing.md", None, MARKDOWN),
        (b"<p align='center'><img src='logo.png'></p>\n# Project\n", "README.markdown", None, MARKDOWN),
        (b"# Pricing\n", "pricing", "text/markdown; charset=utf-8", MARKDOWN),
        (b"Just a fragment", "fragment.htm", None, HTML),
        (b"Plans start at $20.\n", "notes.txt", "text/plain", TEXT),
        (b"Plans start at $20.\n", "notes", None, TEXT),
        (codecs.BOM_UTF8 + "Caf\u00e9 \u2014 menu\n".encode(), "menu.txt", None, TEXT),
        (codecs.BOM_UTF16_LE + "Caf\u00e9 \u2014 menu\n".encode("utf-16-le"), "menu.txt", None, TEXT),
        (codecs.BOM_UTF16_BE + "# Caf\u00e9\n".encode("utf-16-be"), "menu.md", None, MARKDOWN),
        ("Grüße aus Köln\n".encode(), "greeting.txt", None, TEXT),
    ],
)
def test_the_bytes_decide_the_type(data: bytes, name: str, declared: str | None, expected: str) -> None:
    assert media_type_of(data, name, declared) == expected


@pytest.mark.parametrize(
    ("data", "name", "declared", "why"),
    [
        (PNG_BYTES, "logo.png", "image/png", "neither"),
        (PNG_BYTES, "logo.pdf", "application/pdf", "neither"),  # the name does not make it a PDF
        (XLSX_BYTES, "sheet.xlsx", None, "not a Word document"),
        (zipped("a.txt"), "archive.docx", None, "not a Word document"),
        (b"PK\x03\x04 not really a zip", "x.docx", None, "damaged"),
        (EXE_BYTES, "setup.exe", None, "neither"),
        (ELF_BYTES, "tool", None, "neither"),
        (os.urandom(4096), "blob.bin", None, "neither"),
        ("caf\u00e9".encode("latin-1"), "menu.txt", None, "neither"),  # not UTF-8, no UTF-16 BOM
        ("menu".encode("utf-16-le"), "menu.txt", None, "neither"),      # UTF-16 without a BOM
        (b"plain text", "report.pdf", "application/pdf", "named .pdf but holds text"),
    ],
)
def test_anything_else_is_refused_with_the_accepted_types(data: bytes, name: str, declared: str | None,
                                                          why: str) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        media_type_of(data, name, declared)

    assert why in refused.value.detail
    assert refused.value.status == 415 and refused.value.slug == "unsupported-media-type"
    assert refused.value.extensions == {"accepted": list(MEDIA_TYPES)}


def test_an_empty_document_is_invalid() -> None:
    with pytest.raises(Invalid):
        media_type_of(b"", "empty.txt", "text/plain")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\dana\\Desktop\\report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("  notes\x00\x1b[31m.txt\u202e ", "notes[31m.txt"),
        ("..", "document"),
        ("", "document"),
        (None, "document"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_file_names_are_made_safe(given: str | None, expected: str) -> None:
    assert safe_name(given) == expected
    assert len(safe_name(given)) <= 255
