"""The labelled retrieval corpus (bench/data/knowledge/): build its documents, read their text back, check the labels.

    uv run python -m bench.knowledge_corpus [--out DIR]

Four fictional businesses (tenants), each with a handful of the documents a business uploads. Markdown, HTML and
plain-text documents are stored as they are ingested; PDF and DOCX documents are stored as Markdown sources
(manifest `source: "pdf:..."` / `"docx:..."`) and made into real files by `build_corpus`: PDFs by the small writer
below (standard Helvetica, a fixed number of lines per page, so they have several pages and page citations matter),
DOCX by python-docx (Heading 1-3 styles, bullet and numbered lists, tables).

`validate` checks the questions (questions.jsonl) against the built files: every evidence string must occur, with
whitespace normalised, in the text read back from its file (pypdf for PDFs, on the stated page and on no other;
python-docx for DOCX; the text of the HTML's elements), and inside one block (a paragraph, list item, heading or
table row), so any chunker that keeps blocks whole keeps the evidence whole. It also checks ids, splits, kinds,
tenants and the counts the benchmark relies on. Run as a module it builds into a temporary folder (or --out), prints
the counts and every problem, and exits 1 if there is one."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal, cast, get_args

from afo_testkit.documents import pdf_escape, pdf_file

DATA = Path(__file__).parent / "data" / "knowledge"

Format = Literal["md", "html", "txt", "pdf", "docx"]
Kind = Literal["fact", "paraphrase", "keyword", "multi"]
Split = Literal["dev", "test"]
BlockKind = Literal["heading", "paragraph", "list_item", "table"]

FORMATS: tuple[Format, ...] = get_args(Format)
KINDS: tuple[Kind, ...] = get_args(Kind)
SPLITS: tuple[Split, ...] = get_args(Split)
GENERATED: tuple[Format, ...] = ("pdf", "docx")

# What the benchmark relies on; validate() reports any shortfall.
MIN_QUESTIONS = 130
MIN_ANSWERABLE = 110
MIN_UNANSWERABLE = 20
MIN_PDF, MIN_DOCX = 4, 3
DOC_WORDS = (400, 2500)
EVIDENCE_WORDS = (3, 25)
DEV_SHARE = (0.5, 0.7)  # per tenant


# --------------------------------------------------------------------------------------------------------------
# Manifest and questions


@dataclass(frozen=True)
class ManifestEntry:
    tenant: str
    file: str                 # path under the corpus folder, as questions cite it
    format: Format
    title: str
    source: str | None = None  # for pdf/docx: "pdf:<path of the Markdown source>"

    def source_path(self, data: Path) -> Path:
        if self.source is None:
            return data / self.file
        marker, _, rel = self.source.partition(":")
        if marker != self.format:
            raise ValueError(f"{self.file}: source marker {marker!r} does not match format {self.format!r}")
        return data / rel


@dataclass(frozen=True)
class CorpusDocument:
    """One document as the benchmark ingests it: a real file of its format under the build folder."""

    tenant: str
    file: str
    format: Format
    title: str
    path: Path
    pages: int | None = None  # PDFs only


@dataclass(frozen=True)
class Answer:
    file: str
    page: int | None
    evidence: str


@dataclass(frozen=True)
class Question:
    id: str
    tenant: str
    question: str
    answerable: bool
    answers: tuple[Answer, ...]
    split: Split
    kind: Kind


def load_manifest(data: Path = DATA) -> list[ManifestEntry]:
    rows: list[dict[str, Any]] = json.loads((data / "manifest.json").read_text(encoding="utf-8"))["documents"]
    entries = []
    for row in rows:
        fmt = row["format"]
        if fmt not in FORMATS:
            raise ValueError(f"{row['file']}: unknown format {fmt!r}")
        source = row.get("source")
        if (fmt in GENERATED) != (source is not None):
            raise ValueError(f"{row['file']}: pdf and docx documents, and only they, have a source")
        entries.append(ManifestEntry(row["tenant"], row["file"], cast(Format, fmt), row["title"], source))
    return entries


def load_questions(path: Path = DATA / "questions.jsonl") -> list[Question]:
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row: dict[str, Any] = json.loads(line)
        try:
            answers = tuple(Answer(a["file"], a.get("page"), a["evidence"]) for a in row["answers"])
            questions.append(Question(
                row["id"], row["tenant"], row["question"], row["answerable"], answers, row["split"], row["kind"]
            ))
        except KeyError as e:
            raise ValueError(f"questions line {n}: missing {e}") from e
    return questions


# --------------------------------------------------------------------------------------------------------------
# The Markdown the sources are written in: headings, paragraphs, bullet and numbered lists, pipe tables.


@dataclass(frozen=True)
class SourceBlock:
    kind: BlockKind
    text: str = ""
    level: int = 0                          # heading level; for list items 1 = bullet, 2 = numbered
    rows: tuple[tuple[str, ...], ...] = ()  # tables: header row first

    def texts(self) -> list[str]:
        """The pieces of text a chunker keeps whole: the block itself, or each table row (cells joined by a space)."""
        return [" ".join(row) for row in self.rows] if self.kind == "table" else [self.text]


_INLINE = [(re.compile(r"\[([^\]]+)\]\([^)]+\)"), r"\1"), (re.compile(r"\*\*([^*]+)\*\*"), r"\1"),
           (re.compile(r"(?<![\w*])\*([^*]+)\*(?![\w*])"), r"\1"), (re.compile(r"`([^`]+)`"), r"\1")]


def strip_inline(text: str) -> str:
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text


def parse_markdown(text: str) -> list[SourceBlock]:
    blocks: list[SourceBlock] = []
    para: list[str] = []
    table: list[tuple[str, ...]] = []

    def flush() -> None:
        if para:
            blocks.append(SourceBlock("paragraph", strip_inline(" ".join(para))))
            para.clear()
        if table:
            blocks.append(SourceBlock("table", rows=tuple(table)))
            table.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            if para:
                flush()
            cells = tuple(strip_inline(c.strip()) for c in line.strip("|").split("|"))
            if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                table.append(cells)
            continue
        if table:
            flush()
        heading = re.match(r"(#{1,3})\s+(.*)", line)
        bullet = re.match(r"[-*]\s+(.*)", line)
        numbered = re.match(r"\d+\.\s+(.*)", line)
        if not line:
            flush()
        elif heading:
            flush()
            blocks.append(SourceBlock("heading", strip_inline(heading[2]), len(heading[1])))
        elif bullet or numbered:
            flush()
            item = bullet or numbered
            assert item is not None
            blocks.append(SourceBlock("list_item", strip_inline(item[1]), 1 if bullet else 2))
        else:
            para.append(line)
    flush()
    return blocks


def text_blocks(text: str) -> list[str]:
    """Plain text: paragraphs are separated by blank lines; the lines of one paragraph join."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


# --------------------------------------------------------------------------------------------------------------
# HTML: the text of its elements, one block per paragraph, list item, heading, cell and so on.

_BREAKS = frozenset({
    "p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "title", "caption", "div", "section", "article",
    "main", "nav", "header", "footer", "aside", "ul", "ol", "dl", "table", "tr", "thead", "tbody", "address",
    "blockquote", "figure", "figcaption", "form", "label", "button", "br", "hr", "option",
})
_CELLS = frozenset({"td", "th"})  # the cells of a row are one block, separated by a space
_SKIP = frozenset({"script", "style", "template", "noscript"})


class _HtmlBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._buf: list[str] = []
        self._skipping = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        if text:
            self.blocks.append(text)
        self._buf.clear()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BREAKS:
            self._flush()
        elif tag in _CELLS:
            self._buf.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_blocks(html: str) -> list[str]:
    parser = _HtmlBlocks()
    parser.feed(html)
    parser.close()
    return parser.blocks


# --------------------------------------------------------------------------------------------------------------
# A minimal PDF writer: standard Type 1 Helvetica (no embedding), WinAnsi text, a fixed number of lines per page.

PAGE_SIZE = (612, 792)  # US Letter, points
MARGIN_X = 72
TOP_Y = 730
LEADING = 14
LINES_PER_PAGE = 46
BODY_WRAP = 92           # characters per body line at 10 pt
_STYLE = {  # (font, size, wrap) by line style
    "body": ("F1", 10, BODY_WRAP),
    "h1": ("F2", 15, 60),
    "h2": ("F2", 12.5, 74),
    "h3": ("F2", 11, 84),
    "th": ("F2", 10, BODY_WRAP),
}


@dataclass(frozen=True)
class _Line:
    style: str
    cells: tuple[tuple[float, str], ...]  # (x, text) pieces on this line; empty for a blank line


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def _layout(blocks: Sequence[SourceBlock]) -> list[_Line]:
    lines: list[_Line] = []
    blank = _Line("body", ())
    for i, block in enumerate(blocks):
        if i and blocks[i - 1].kind == "list_item" and block.kind != "list_item":
            lines.append(blank)  # a list ends with a blank line
        if block.kind == "heading":
            style = f"h{min(block.level, 3)}"
            if lines and lines[-1] != blank:
                lines.append(blank)
            lines += [_Line(style, ((MARGIN_X, t),)) for t in _wrap(block.text, _STYLE[style][2])]
        elif block.kind == "paragraph":
            lines += [_Line("body", ((MARGIN_X, t),)) for t in _wrap(block.text, BODY_WRAP)]
            lines.append(blank)
        elif block.kind == "list_item":
            number = 1
            while block.level == 2 and i - number >= 0 and blocks[i - number].kind == "list_item":
                number += 1
            mark = "\u2022" if block.level == 1 else f"{number}."
            for n, t in enumerate(_wrap(block.text, BODY_WRAP - 4)):
                lines.append(_Line("body", ((MARGIN_X, mark), (MARGIN_X + 12, t)) if n == 0 else ((MARGIN_X + 12, t),)))
        else:
            columns = len(block.rows[0])
            widths = [max(len(row[c]) if c < len(row) else 0 for row in block.rows) for c in range(columns)]
            xs = [float(MARGIN_X)]
            for w in widths[:-1]:
                xs.append(xs[-1] + w * 5.6 + 16)
            if xs[-1] + widths[-1] * 5.6 > PAGE_SIZE[0] - MARGIN_X / 2:
                raise ValueError(f"table too wide for a PDF page: {block.rows[0]}")
            for r, row in enumerate(block.rows):
                lines.append(_Line("th" if r == 0 else "body", tuple(zip(xs, row, strict=False))))
            lines.append(blank)
    return lines


def _paginate(lines: Sequence[_Line]) -> list[list[_Line]]:
    pages: list[list[_Line]] = [[]]
    for line in lines:
        page = pages[-1]
        if not line.cells and not page:
            continue  # no blank line at the top of a page
        # a heading does not stand alone at the foot of a page
        keep_with_next = line.style.startswith("h") and len(page) >= LINES_PER_PAGE - 2
        if len(page) >= LINES_PER_PAGE or keep_with_next:
            pages.append([])
            if not line.cells:
                continue
        pages[-1].append(line)
    return [p for p in pages if p]


def write_pdf(path: Path, title: str, blocks: Sequence[SourceBlock]) -> int:
    """Lay the blocks out on Letter pages and write a PDF 1.4 file; returns the number of pages."""
    pages = _paginate(_layout(blocks))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the page objects are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + pdf_escape(title) + b") /Producer (AFO bench knowledge corpus) >>",
    ]
    kids = []
    for n, page in enumerate(pages, 1):
        ops = []
        for slot, line in enumerate(page):
            font, size, _ = _STYLE[line.style]
            y = TOP_Y - slot * LEADING
            for x, text in line.cells:
                if text:
                    op = b"BT /%s %g Tf 1 0 0 1 %g %d Tm (%s) Tj ET" % (font.encode(), size, x, y, pdf_escape(text))
                    ops.append(op)
        footer = f"{title} - page {n} of {len(pages)}"
        ops.append(b"BT /F1 8 Tf 1 0 0 1 %d 40 Tm (%s) Tj ET" % (MARGIN_X, pdf_escape(footer)))
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
            b"/Contents %d 0 R >>" % (*PAGE_SIZE, content_ref)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    path.write_bytes(pdf_file(objects, info=5))
    return len(pages)


# --------------------------------------------------------------------------------------------------------------
# DOCX, by python-docx

_FIXED_TIME = datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc)  # noqa: UP017 - the same in every build


def write_docx(path: Path, title: str, author: str, blocks: Sequence[SourceBlock]) -> None:
    import docx  # python-docx, a dependency of knowledge-ingest

    document = docx.Document()
    props = document.core_properties
    props.title, props.author, props.created, props.modified = title, author, _FIXED_TIME, _FIXED_TIME
    for block in blocks:
        if block.kind == "heading":
            document.add_heading(block.text, level=min(block.level, 3))
        elif block.kind == "paragraph":
            document.add_paragraph(block.text)
        elif block.kind == "list_item":
            document.add_paragraph(block.text, style="List Bullet" if block.level == 1 else "List Number")
        else:
            table = document.add_table(rows=len(block.rows), cols=len(block.rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(block.rows):
                for c, text in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = text
                    if r == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
    document.save(str(path))


# --------------------------------------------------------------------------------------------------------------
# Building the corpus and reading it back


def build_corpus(out_dir: Path, data: Path = DATA) -> list[CorpusDocument]:
    """Write every document of the manifest under out_dir (same relative paths) and describe them."""
    docs = []
    for entry in load_manifest(data):
        target = out_dir / entry.file
        target.parent.mkdir(parents=True, exist_ok=True)
        pages = None
        if entry.format == "pdf":
            blocks = parse_markdown(entry.source_path(data).read_text(encoding="utf-8"))
            pages = write_pdf(target, entry.title, blocks)
        elif entry.format == "docx":
            blocks = parse_markdown(entry.source_path(data).read_text(encoding="utf-8"))
            write_docx(target, entry.title, entry.tenant, blocks)
        else:
            shutil.copyfile(data / entry.file, target)
        docs.append(CorpusDocument(entry.tenant, entry.file, entry.format, entry.title, target, pages))
    return docs


def read_pages(doc: CorpusDocument) -> list[str]:
    """The text of a built document as a reader gets it back: one string per PDF page, else one string."""
    if doc.format == "pdf":
        from pypdf import PdfReader

        return [page.extract_text() for page in PdfReader(doc.path, strict=True).pages]
    if doc.format == "docx":
        import docx
        from docx.table import Table

        parts = []
        for item in docx.Document(str(doc.path)).iter_inner_content():
            if isinstance(item, Table):
                parts += [cell.text for row in item.rows for cell in row.cells]
            else:
                parts.append(item.text)
        return ["\n".join(parts)]
    text = doc.path.read_text(encoding="utf-8")
    return ["\n".join(html_blocks(text))] if doc.format == "html" else [text]


def blocks_of(entry: ManifestEntry, data: Path = DATA) -> list[str]:
    """The pieces of a document's text a chunker keeps whole: paragraphs, list items, headings, table rows."""
    text = entry.source_path(data).read_text(encoding="utf-8")
    if entry.format == "html":
        return html_blocks(text)
    if entry.format == "txt":
        return text_blocks(text)
    return [t for block in parse_markdown(text) for t in block.texts()]


def normalise(text: str) -> str:
    return " ".join(text.split())


def holds_answer(chunk_text: str, evidence: str) -> bool:
    """Whether a retrieved passage holds an answer: it contains the evidence, whitespace normalised and case folded.

    Table rows are labelled with their cells joined by a space, so a chunker's cell separators ("|", tabs,
    newlines) count as whitespace; no evidence string contains "|"."""
    return normalise(evidence).casefold() in normalise(chunk_text.replace("|", " ")).casefold()


# --------------------------------------------------------------------------------------------------------------
# Validation


def validate(docs: Sequence[CorpusDocument], questions: Sequence[Question], data: Path = DATA) -> list[str]:
    """Every problem with the corpus and its labels; empty when all is well."""
    errors: list[str] = []
    manifest = {e.file: e for e in load_manifest(data)}
    by_file = {d.file: d for d in docs}
    tenants = sorted({d.tenant for d in docs})
    pages = {d.file: [normalise(p) for p in read_pages(d)] for d in docs}
    blocks = {f: [normalise(b) for b in blocks_of(e, data)] for f, e in manifest.items()}

    formats = Counter(d.format for d in docs)
    if formats["pdf"] < MIN_PDF or formats["docx"] < MIN_DOCX:
        errors.append(f"corpus: {formats['pdf']} PDFs and {formats['docx']} DOCX; want {MIN_PDF} and {MIN_DOCX}")
    for d in docs:
        words = sum(len(p.split()) for p in pages[d.file])
        if not DOC_WORDS[0] <= words <= DOC_WORDS[1]:
            errors.append(f"{d.file}: {words} words, want {DOC_WORDS[0]}-{DOC_WORDS[1]}")
        if d.format == "pdf" and (d.pages or 0) < 2:
            errors.append(f"{d.file}: a PDF of {d.pages} page(s); want several")
        if d.format == "pdf" and d.pages != len(pages[d.file]):
            errors.append(f"{d.file}: written with {d.pages} pages, read back with {len(pages[d.file])}")

    seen: set[str] = set()
    for q in questions:
        where = f"question {q.id}"
        if q.id in seen:
            errors.append(f"{where}: id used twice")
        seen.add(q.id)
        if q.tenant not in tenants:
            errors.append(f"{where}: no tenant {q.tenant!r}")
        if q.split not in SPLITS:
            errors.append(f"{where}: split {q.split!r}")
        if q.kind not in KINDS:
            errors.append(f"{where}: kind {q.kind!r}")
        if not q.question.strip():
            errors.append(f"{where}: no question text")
        if q.answerable != bool(q.answers):
            errors.append(f"{where}: answerable is {q.answerable} but it has {len(q.answers)} answers")
        if q.kind == "multi" and len({a.evidence for a in q.answers}) < 2:
            errors.append(f"{where}: a multi question needs at least two pieces of evidence")
        for a in q.answers:
            errors += _check_answer(where, q, a, by_file, pages, blocks)

    errors += _check_counts(questions, tenants)
    return errors


def _check_answer(
    where: str,
    q: Question,
    a: Answer,
    by_file: dict[str, CorpusDocument],
    pages: dict[str, list[str]],
    blocks: dict[str, list[str]],
) -> list[str]:
    doc = by_file.get(a.file)
    if doc is None:
        return [f"{where}: no document {a.file!r}"]
    errors = []
    if doc.tenant != q.tenant:
        errors.append(f"{where}: {a.file} belongs to {doc.tenant}, not {q.tenant}")
    evidence = normalise(a.evidence)
    words = len(evidence.split())
    if not EVIDENCE_WORDS[0] <= words <= EVIDENCE_WORDS[1]:
        errors.append(f"{where}: evidence of {words} words, want {EVIDENCE_WORDS[0]}-{EVIDENCE_WORDS[1]}")
    if "|" in evidence:
        errors.append(f"{where}: evidence contains '|'")
    if evidence.casefold() in normalise(q.question).casefold():
        errors.append(f"{where}: the question copies its evidence")
    found_on = [n for n, text in enumerate(pages[a.file], 1) if evidence in text]
    if not found_on:
        errors.append(f"{where}: evidence not in the text of {a.file}: {a.evidence!r}")
    elif doc.format == "pdf":
        if a.page not in found_on:
            errors.append(f"{where}: evidence is on page(s) {found_on} of {a.file}, not page {a.page}")
        elif len(found_on) > 1:
            errors.append(f"{where}: evidence occurs on pages {found_on} of {a.file}; make it specific to one")
    elif a.page is not None:
        errors.append(f"{where}: page {a.page} given for a {doc.format} document")
    if found_on and not any(evidence in b for b in blocks[a.file]):
        errors.append(f"{where}: evidence spans two blocks (or markup) of {a.file}: {a.evidence!r}")
    return errors


def _check_counts(questions: Sequence[Question], tenants: Iterable[str]) -> list[str]:
    errors = []
    answerable = sum(q.answerable for q in questions)
    if len(questions) < MIN_QUESTIONS:
        errors.append(f"questions: {len(questions)}, want at least {MIN_QUESTIONS}")
    if answerable < MIN_ANSWERABLE or len(questions) - answerable < MIN_UNANSWERABLE:
        errors.append(f"questions: {answerable} answerable and {len(questions) - answerable} not; "
                      f"want at least {MIN_ANSWERABLE} and {MIN_UNANSWERABLE}")
    for tenant in tenants:
        mine = [q for q in questions if q.tenant == tenant]
        for split in SPLITS:
            for answerable_ in (True, False):
                if not any(q.split == split and q.answerable == answerable_ for q in mine):
                    label = "answerable" if answerable_ else "unanswerable"
                    errors.append(f"{tenant}: no {label} question in {split}")
        if mine:
            share = sum(q.split == "dev" for q in mine) / len(mine)
            if not DEV_SHARE[0] <= share <= DEV_SHARE[1]:
                low, high = DEV_SHARE
                errors.append(f"{tenant}: {share:.0%} of its questions are dev; want {low:.0%}-{high:.0%}")
    return errors


def summary(docs: Sequence[CorpusDocument], questions: Sequence[Question]) -> str:
    formats = sorted(Counter(d.format for d in docs).items())
    lines = [f"{len(docs)} documents: " + ", ".join(f"{n} {f}" for f, n in formats)]
    for tenant in sorted({d.tenant for d in docs}):
        mine = [d for d in docs if d.tenant == tenant]
        qs = [q for q in questions if q.tenant == tenant]
        lines.append(f"  {tenant}: {len(mine)} documents, {len(qs)} questions "
                     f"({sum(q.answerable for q in qs)} answerable)")
    lines.append(f"{len(questions)} questions: {sum(q.answerable for q in questions)} answerable, "
                 f"{sum(not q.answerable for q in questions)} unanswerable")
    for split in SPLITS:
        qs = [q for q in questions if q.split == split]
        kinds = Counter(q.kind for q in qs)
        lines.append(f"  {split}: {len(qs)} ({sum(q.answerable for q in qs)} answerable); "
                     + ", ".join(f"{k} {kinds[k]}" for k in KINDS))
    pdf_pages = {d.file: d.pages for d in docs if d.format == "pdf"}
    lines.append("PDF pages: " + ", ".join(f"{f} {n}" for f, n in pdf_pages.items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, help="build the documents here (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out: Path = args.out or Path(tmp)
        docs = build_corpus(out)
        questions = load_questions()
        print(summary(docs, questions))
        errors = validate(docs, questions)
    for error in errors:
        print("ERROR", error, file=sys.stderr)
    print(f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
