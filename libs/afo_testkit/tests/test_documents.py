import io

import pypdf

from afo_testkit.documents import pdf_bytes


def test_pypdf_reads_the_pages_title_and_escaped_text_back() -> None:
    data = pdf_bytes([["Pricing (2026)", r"The Growth plan costs $199 \ month."], ["Support hours"]], title="Handbook")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.title == "Handbook"
    assert [page.extract_text().splitlines() for page in reader.pages] == [
        ["Pricing (2026)", r"The Growth plan costs $199 \ month."], ["Support hours"],
    ]


def test_a_page_without_lines_has_no_text() -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes([[]])))
    assert len(reader.pages) == 1 and reader.pages[0].extract_text() == ""
