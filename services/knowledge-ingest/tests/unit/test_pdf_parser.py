import io

import pytest
from pypdf import PdfReader

from afo_knowledge_ingest.adapters.parsers import parse
from afo_knowledge_ingest.adapters.parsers.pdf_layout import page_blocks
from afo_knowledge_ingest.domain.documents import Block, UnreadableDocument

PDF = "application/pdf"
LONG_LINE = "The platform keeps every tenant's documents apart and searchable at all times,"


def test_the_test_helper_builds_a_pdf_pypdf_reads_strictly(make_pdf):
    reader = PdfReader(io.BytesIO(make_pdf([["Hello (world)"], ["Second page"]], title="T")), strict=True)

    assert [page.extract_text().strip() for page in reader.pages] == ["Hello (world)", "Second page"]
    assert reader.metadata is not None and reader.metadata.title == "T"


def test_pages_headings_paragraphs_and_hyphenation(make_pdf):
    data = make_pdf([
        ["INTRODUCTION", LONG_LINE, "and it is fast to deploy in any environ-", "ment we know of, which matters.",
         "Next paragraph starts here and ends."],
        ["2.1 Pricing Plans", "Costs $1.5 per seat.", "• First bullet item", "continues here", "- Second item", "7"],
    ])

    parsed = parse(data, PDF, "guide.pdf")

    assert parsed.pages == 2
    assert parsed.title == "INTRODUCTION"  # no metadata title: the first heading on page 1
    assert parsed.blocks == [
        Block("heading", "INTRODUCTION", 1, 1),
        # a sentence ending well short of the longest line ends its paragraph
        Block("paragraph", f"{LONG_LINE} and it is fast to deploy in any environment we know of, which matters.", 0, 1),
        Block("paragraph", "Next paragraph starts here and ends.", 0, 1),
        Block("heading", "2.1 Pricing Plans", 2, 2),
        Block("paragraph", "Costs $1.5 per seat.", 0, 2),
        Block("list_item", "• First bullet item continues here", 0, 2),
        Block("list_item", "- Second item", 0, 2),  # the bare "7" at the page's foot is a page number
    ]


def test_metadata_title_wins_over_the_first_heading(make_pdf):
    parsed = parse(make_pdf([["OVERVIEW", "Body text."]], title="  Product Handbook "), PDF, "x.pdf")

    assert parsed.title == "Product Handbook"


def test_placeholder_metadata_title_is_ignored(make_pdf):
    parsed = parse(make_pdf([["Body text only, no heading."]], title="Microsoft Word - draft3.docx"), PDF, "plan.pdf")

    assert parsed.title == "plan"  # neither a real title nor a heading: the file name


@pytest.mark.parametrize(
    ("line", "level"),
    [("PRICING", 1), ("Our Enterprise Plans", 2), ("3 Scope of Work", 1), ("3.2.1 Limits", 3),
     ("This ends in a period.", 0), ("the lower case line", 0), ("1. Install the tool", 0), ("2024", 0)],
)
def test_heading_heuristic(line, level):
    blocks = page_blocks(f"{line}\nFollowing text.", 1)

    assert (blocks[0].kind == "heading", blocks[0].level) == ((True, level) if level else (False, 0))


def test_a_title_case_line_inside_a_sentence_is_not_a_heading():
    blocks = page_blocks("We met with the people from\nAcme Research Labs\nlast week.", 1)

    assert blocks == [Block("paragraph", "We met with the people from Acme Research Labs last week.", 0, 1)]


def test_a_page_without_text_is_empty_with_the_ocr_reason(make_pdf):
    with pytest.raises(UnreadableDocument) as raised:
        parse(make_pdf([[]]), PDF, "scan.pdf")

    assert raised.value.code == "empty"
    assert raised.value.reason == "no text layer; scanned PDFs need OCR, which is not supported"


def test_truncated_pdf_is_corrupt(make_pdf):
    data = make_pdf([["Some text here."]])

    with pytest.raises(UnreadableDocument) as raised:
        parse(data[: len(data) // 3], PDF, "cut.pdf")

    assert raised.value.code == "corrupt"


def test_garbage_is_corrupt():
    with pytest.raises(UnreadableDocument) as raised:
        parse(b"this is not a pdf at all" * 20, PDF, "x.pdf")

    assert raised.value.code == "corrupt"


@pytest.mark.parametrize("algorithm", [None, "AES-128"])
def test_password_protected_pdf_is_encrypted(make_pdf, make_encrypted_pdf, algorithm):
    data = make_encrypted_pdf(make_pdf([["Secret text."]]), "user-secret", algorithm)

    with pytest.raises(UnreadableDocument) as raised:
        parse(data, PDF, "locked.pdf")

    assert raised.value.code == "encrypted"


def test_owner_password_only_pdf_is_read(make_pdf, make_encrypted_pdf):
    data = make_encrypted_pdf(make_pdf([["Readable although restricted."]]), "")

    assert parse(data, PDF, "restricted.pdf").blocks == [Block("paragraph", "Readable although restricted.", 0, 1)]


def test_too_many_pages_is_too_large(make_pdf, monkeypatch):
    monkeypatch.setattr("afo_knowledge_ingest.adapters.parsers.pdf.MAX_PAGES", 2)

    with pytest.raises(UnreadableDocument) as raised:
        parse(make_pdf([["a"], ["b"], ["c"]]), PDF, "big.pdf")

    assert raised.value.code == "too_large"


def test_a_short_sentence_case_line_before_a_sentence_is_a_heading():
    blocks = page_blocks("Opening hours\nThe clinic is open Monday to Friday from 8 am to 6 pm.", 2)

    assert blocks == [Block("heading", "Opening hours", 3, 2),
                      Block("paragraph", "The clinic is open Monday to Friday from 8 am to 6 pm.", 0, 2)]
