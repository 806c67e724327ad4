"""The labelled retrieval corpus (bench/data/knowledge/): it builds, its files read back, and every label holds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from bench.knowledge_corpus import (
    DATA,
    GENERATED,
    CorpusDocument,
    Question,
    SourceBlock,
    build_corpus,
    holds_answer,
    html_blocks,
    load_manifest,
    load_questions,
    normalise,
    parse_markdown,
    read_pages,
    validate,
    write_pdf,
)
from pypdf import PdfReader


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusDocument]:
    return build_corpus(tmp_path_factory.mktemp("knowledge"))


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_questions()


def test_the_corpus_and_its_labels_are_valid(corpus: list[CorpusDocument], questions: list[Question]) -> None:
    assert validate(corpus, questions) == []


def test_every_document_of_the_manifest_is_built_in_its_format(corpus: list[CorpusDocument]) -> None:
    manifest = load_manifest()
    assert [d.file for d in corpus] == [e.file for e in manifest]
    for doc in corpus:
        assert doc.path.is_file() and doc.path.suffix == f".{doc.format}"
    assert {d.format for d in corpus} == {"md", "html", "txt", "pdf", "docx"}
    assert len({d.tenant for d in corpus}) == 4


def test_pdfs_have_several_pages_that_pypdf_reads_strictly(corpus: list[CorpusDocument]) -> None:
    pdfs = [d for d in corpus if d.format == "pdf"]
    assert len(pdfs) >= 4
    for doc in pdfs:
        reader = PdfReader(doc.path, strict=True)
        assert doc.pages is not None and len(reader.pages) == doc.pages >= 2
        assert reader.metadata is not None and reader.metadata.title == doc.title
        for n, page in enumerate(reader.pages, 1):
            assert f"page {n} of {doc.pages}" in page.extract_text()


def test_docx_files_use_heading_and_list_styles_and_tables(corpus: list[CorpusDocument]) -> None:
    docxs = [d for d in corpus if d.format == "docx"]
    assert len(docxs) >= 3
    for doc in docxs:
        document = docx.Document(str(doc.path))
        styles = {p.style.name for p in document.paragraphs if p.style is not None}
        assert {"Heading 1", "Heading 2"} <= styles
        assert styles & {"List Bullet", "List Number"}
        assert document.tables
        assert document.core_properties.title == doc.title


def _swap_answer(q: Question, evidence: str | None = None, page: int | None = None) -> Question:
    first = q.answers[0]
    changed = dataclasses.replace(first, evidence=first.evidence if evidence is None else evidence, page=page)
    return dataclasses.replace(q, answers=(changed, *q.answers[1:]))


def _first(questions: list[Question], fmt: str) -> Question:
    return next(q for q in questions if q.answers and q.answers[0].file.endswith(f".{fmt}"))


def _evidence_changed(fmt: str, change: Callable[[str], str]) -> Callable[[list[Question]], Question]:
    def mutate(questions: list[Question]) -> Question:
        q = _first(questions, fmt)
        return _swap_answer(q, evidence=change(q.answers[0].evidence), page=q.answers[0].page)

    return mutate


def _wrong_page(questions: list[Question]) -> Question:
    q = _first(questions, "pdf")
    return _swap_answer(q, page=(q.answers[0].page or 0) % 3 + 1)


def _other_tenant(questions: list[Question]) -> Question:
    q = _first(questions, "md")
    return dataclasses.replace(q, tenant=next(o.tenant for o in questions if o.tenant != q.tenant))


def _copies_evidence(questions: list[Question]) -> Question:
    q = _first(questions, "md")
    return dataclasses.replace(q, question=f"{q.answers[0].evidence}?")


MUTATIONS: dict[str, Callable[[list[Question]], Question]] = {
    "evidence changed in a PDF": _evidence_changed("pdf", lambda e: e + " always"),
    "evidence changed in a DOCX": _evidence_changed("docx", lambda e: "we refund everything, always and at once"),
    "evidence changed in HTML": _evidence_changed("html", lambda e: e.replace("$", "EUR ")),
    "evidence changed in Markdown": _evidence_changed("md", lambda e: e.replace(" ", "  ").lower() + " today"),
    "evidence changed in text": _evidence_changed("txt", lambda e: "open every day of the year"),
    "evidence spanning two blocks": _evidence_changed("md", lambda e: "Who are the dentists? Our team includes"),
    "wrong PDF page": _wrong_page,
    "page given for a non-PDF": lambda qs: _swap_answer(_first(qs, "md"), page=1),
    "another tenant's document": _other_tenant,
    "answerable without answers": lambda qs: dataclasses.replace(_first(qs, "md"), answers=()),
    "question copies its evidence": _copies_evidence,
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_wrong_label_is_reported(corpus: list[CorpusDocument], questions: list[Question], mutation: str) -> None:
    wrong = MUTATIONS[mutation](questions)
    errors = validate(corpus, [wrong if q.id == wrong.id else q for q in questions])
    assert any(e.startswith(f"question {wrong.id}:") for e in errors), errors


def test_a_duplicate_id_and_missing_unanswerables_are_reported(
    corpus: list[CorpusDocument], questions: list[Question]
) -> None:
    answerable = [q for q in questions if q.answerable]
    errors = validate(corpus, [*answerable, answerable[0]])
    assert f"question {answerable[0].id}: id used twice" in errors
    assert any("unanswerable" in e for e in errors)


def test_the_labels_are_balanced(questions: list[Question]) -> None:
    assert len(questions) >= 130
    assert sum(q.answerable for q in questions) >= 110
    assert sum(not q.answerable for q in questions) >= 20
    assert {q.kind for q in questions} == {"fact", "paraphrase", "keyword", "multi"}
    dev = sum(q.split == "dev" for q in questions) / len(questions)
    assert 0.55 <= dev <= 0.65


def test_evidence_is_found_in_the_text_read_back(corpus: list[CorpusDocument], questions: list[Question]) -> None:
    text = {d.file: normalise(" ".join(read_pages(d))) for d in corpus}
    for q in questions:
        for a in q.answers:
            assert holds_answer(text[a.file], a.evidence), (q.id, a.evidence)


def test_pdf_writer_escapes_text_and_breaks_pages(tmp_path: Path) -> None:
    blocks = [SourceBlock("heading", "Fees (2026) \\ summary", 1)]
    remark = "a (parenthesised) remark, a back\\slash and 25% off."
    blocks += [SourceBlock("paragraph", f"Line {n}: {remark}") for n in range(60)]
    blocks += [SourceBlock("list_item", "last item \u2022 done", 1)]
    path = tmp_path / "t.pdf"
    pages = write_pdf(path, "Test (escaping)", blocks)
    reader = PdfReader(path, strict=True)
    assert pages == len(reader.pages) >= 2
    text = normalise(" ".join(p.extract_text() for p in reader.pages))
    assert "Fees (2026) \\ summary" in text
    assert "Line 59: a (parenthesised) remark, a back\\slash and 25% off." in text
    assert "last item \u2022 done" in text


def test_markdown_and_html_blocks() -> None:
    markdown = "# Title\n\nOne **bold** line\ncontinues.\n\n- item\n1. step\n\n| A | B |\n| --- | --- |\n| x | y |\n"
    blocks = parse_markdown(markdown)
    assert [(b.kind, b.texts()) for b in blocks] == [
        ("heading", ["Title"]),
        ("paragraph", ["One bold line continues."]),
        ("list_item", ["item"]),
        ("list_item", ["step"]),
        ("table", ["A B", "x y"]),
    ]
    html = "<nav><a>Home</a></nav><h1>Fees</h1><p>Cash &amp; <b>cards</b></p>"
    html += "<table><tr><td>Crown</td><td>$9</td></tr></table>"
    assert html_blocks(html) == ["Home", "Fees", "Cash & cards", "Crown $9"]
    assert holds_answer("| Crown | $9 |", "Crown $9")


def test_generated_documents_have_markdown_sources() -> None:
    for entry in load_manifest():
        if entry.format in GENERATED:
            assert entry.source is not None and entry.source.startswith(f"{entry.format}:")
            assert entry.source_path(DATA).is_file()
