import io
import zipfile

import docx
import pytest

from afo_knowledge_ingest.adapters.parsers import DOCX, parse
from afo_knowledge_ingest.domain.documents import Block, UnreadableDocument


def _docx(build) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _handbook(document) -> None:
    document.core_properties.title = "Employee Handbook"
    document.add_paragraph("Handbook", style="Title")
    document.add_heading("Benefits", level=1)
    document.add_paragraph("Everyone   gets\tbenefits.")
    document.add_heading("Health", level=2)
    document.add_paragraph("Dental", style="List Bullet")
    document.add_paragraph("Vision", style="List Number")
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, [("Plan", "Price", "Seats"), ("Pro", "$10", "5")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("")  # an empty paragraph leaves no block
    document.add_paragraph("After the table.")


def test_headings_lists_tables_and_title_in_reading_order():
    parsed = parse(_docx(_handbook), DOCX, "handbook.docx")

    assert parsed.title == "Employee Handbook"
    assert parsed.pages is None
    assert parsed.blocks == [
        Block("heading", "Handbook", 1),
        Block("heading", "Benefits", 1),
        Block("paragraph", "Everyone gets benefits."),
        Block("heading", "Health", 2),
        Block("list_item", "Dental"),
        Block("list_item", "Vision"),
        Block("table", "Plan | Price | Seats\nPro | $10 | 5"),
        Block("paragraph", "After the table."),
    ]


def test_merged_cells_appear_once():
    def build(document):
        table = document.add_table(rows=2, cols=2)
        top = table.cell(0, 0).merge(table.cell(0, 1))
        top.text = "Quarterly totals"
        table.cell(1, 0).text = "Q1"
        table.cell(1, 1).text = "12"

    assert parse(_docx(build), DOCX, "t.docx").blocks == [Block("table", "Quarterly totals\nQ1 | 12")]


def test_title_falls_back_to_the_title_paragraph_then_the_first_heading():
    def titled(document):
        document.add_paragraph("Quarterly Review", style="Title")
        document.add_paragraph("Text.")

    def headed(document):
        document.add_heading("Roadmap", level=2)
        document.add_paragraph("Text.")

    assert parse(_docx(titled), DOCX, "a.docx").title == "Quarterly Review"
    assert parse(_docx(headed), DOCX, "b.docx").title == "Roadmap"


def test_a_document_without_text_is_empty():
    with pytest.raises(UnreadableDocument) as raised:
        parse(_docx(lambda document: document.add_paragraph("   ")), DOCX, "blank.docx")

    assert raised.value.code == "empty"


def test_random_bytes_are_corrupt():
    with pytest.raises(UnreadableDocument) as raised:
        parse(bytes(range(256)) * 8, DOCX, "x.docx")

    assert raised.value.code == "corrupt"


def test_a_zip_that_is_not_a_docx_is_corrupt():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")

    with pytest.raises(UnreadableDocument) as raised:
        parse(out.getvalue(), DOCX, "x.docx")

    assert raised.value.code == "corrupt"
    assert "word/document.xml" in raised.value.reason


def test_a_docx_with_a_damaged_part_is_corrupt():
    source = zipfile.ZipFile(io.BytesIO(_docx(_handbook)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for item in source.infolist():
            body = b"<w:document" if item.filename == "word/document.xml" else source.read(item.filename)
            archive.writestr(item, body)

    with pytest.raises(UnreadableDocument) as raised:
        parse(out.getvalue(), DOCX, "x.docx")

    assert raised.value.code == "corrupt"


def test_a_zip_bomb_is_refused_before_it_is_opened(monkeypatch):
    monkeypatch.setattr("afo_knowledge_ingest.adapters.parsers.wordprocessing.MAX_UNZIPPED_BYTES", 1000)

    with pytest.raises(UnreadableDocument) as raised:
        parse(_docx(_handbook), DOCX, "x.docx")

    assert raised.value.code == "too_large"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64, "encrypted"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le") + b"\x00" * 64, "unsupported_type"),
    ],
)
def test_ole_containers_are_a_locked_docx_or_a_legacy_doc(data, code):
    with pytest.raises(UnreadableDocument) as raised:
        parse(data, DOCX, "x.docx")

    assert raised.value.code == code
