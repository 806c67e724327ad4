"""Real documents made in memory for tests and benchmarks: a PDF whose text pypdf reads back page by page.

A PDF is written by hand (Helvetica, one text line per ``Tj``, a correct cross-reference table) because no
PDF writer that lays out text is a dependency; pypdf then reads it like any PDF a tenant uploads.
``pdf_file`` assembles any list of objects, so a writer with its own layout (bench/knowledge_corpus.py) shares
the file structure."""

from __future__ import annotations

from collections.abc import Sequence

LINE_HEIGHT = 15
TOP = 760
FONT_SIZE = 11
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def pdf_escape(text: str) -> bytes:
    """A PDF literal string's body: WinAnsi (cp1252) bytes with backslash and parentheses escaped."""
    data = text.encode("cp1252")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def pdf_file(objects: Sequence[bytes], *, info: int | None = None) -> bytes:
    """The objects numbered from 1 in order (object 1 is the catalog), their cross-reference table and the
    trailer; ``info`` is the number of the document information object, if any."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer_info = b" /Info %d 0 R" % info if info is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_info, xref)
    return bytes(out)


def pdf_bytes(pages: Sequence[Sequence[str]], *, title: str | None = None) -> bytes:
    """A PDF with one page per item of ``pages``, each a list of text lines drawn top to bottom (an empty line
    moves down a line)."""
    objects: list[bytes] = [b"", b"", HELVETICA]
    kids = []
    for lines in pages:
        stream = b"BT /F1 %d Tf %d TL 72 %d Td " % (FONT_SIZE, LINE_HEIGHT, TOP)
        stream += b" ".join(b"(" + pdf_escape(line) + b") Tj T*" if line else b"T*" for line in lines) + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_ref = len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       b" /Contents %d 0 R >>" % content_ref)
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    if title is None:
        return pdf_file(objects)
    objects.append(b"<< /Title (" + pdf_escape(title) + b") >>")
    return pdf_file(objects, info=len(objects))
