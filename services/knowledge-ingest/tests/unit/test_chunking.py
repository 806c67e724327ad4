import itertools
import re

import pytest

from afo_knowledge_ingest.domain.chunking import chunk
from afo_knowledge_ingest.domain.documents import Block, ParsedDocument
from afo_knowledge_ingest.domain.sentences import split_sentences


def _sentence(n: int) -> str:
    return f"Sentence {n:03d} explains one detail of the plan."  # 45 characters


def _paragraph(first: int, count: int, page: int | None = None) -> Block:
    return Block("paragraph", " ".join(_sentence(n) for n in range(first, first + count)), page=page)


def _doc(*blocks: Block) -> ParsedDocument:
    return ParsedDocument(title="T", blocks=list(blocks))


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"Sentence (\d{3})", text)]


def test_small_blocks_of_a_section_are_packed_and_headings_start_chunks():
    document = _doc(
        Block("heading", "Pricing", 1, page=1),
        Block("paragraph", "Plans start at ten dollars.", page=1),
        Block("list_item", "Starter", page=1),
        Block("list_item", "Pro", page=2),
        Block("heading", "Enterprise", 2, page=2),
        Block("paragraph", "Call sales.", page=3),
        Block("heading", "Support", 1, page=3),
        Block("table", "Tier | Hours\nGold | 24/7", page=3),
    )

    chunks = chunk(document)

    assert [(c.ordinal, c.heading, c.page, c.text) for c in chunks] == [
        (0, "Pricing", 1, "Plans start at ten dollars.\n\nStarter\nPro"),
        (1, "Pricing > Enterprise", 3, "Call sales."),
        (2, "Support", 3, "Tier | Hours\nGold | 24/7"),
    ]
    assert [c.char_count for c in chunks] == [len(c.text) for c in chunks]


def test_text_before_any_heading_has_no_heading_path():
    document = _doc(Block("paragraph", "Preamble."), Block("heading", "A", 1), Block("paragraph", "x"))

    assert [c.heading for c in chunk(document)] == [None, "A"]


def test_heading_path_uses_the_nearest_heading_of_each_level():
    document = _doc(
        Block("heading", "Guide", 1), Block("heading", "Setup", 2), Block("heading", "Linux", 3),
        Block("paragraph", "a"), Block("heading", "Usage", 2), Block("paragraph", "b"),
        Block("heading", "Appendix", 1), Block("heading", "Glossary", 3), Block("paragraph", "c"),
    )

    assert [c.heading for c in chunk(document)] == ["Guide > Setup > Linux", "Guide > Usage", "Appendix > Glossary"]


def test_a_long_section_is_split_at_sentences_with_whole_sentence_overlap():
    document = _doc(Block("heading", "Terms", 1), _paragraph(0, 40, page=4))

    chunks = chunk(document, target_chars=300, max_chars=450, overlap_chars=100)

    assert len(chunks) > 5
    assert all(c.heading == "Terms" and c.page == 4 and c.char_count <= 450 for c in chunks)
    for previous, current in itertools.pairwise(chunks):
        # two 45-character sentences (91 with the space) come nearest to 100
        assert _numbers(current.text)[:2] == _numbers(previous.text)[-2:]
        assert current.text.startswith(" ".join(split_sentences(previous.text)[-2:]))
    assert sorted(set(n for c in chunks for n in _numbers(c.text))) == list(range(40))  # nothing lost
    assert all(split_sentences(c.text) == [_sentence(n) for n in _numbers(c.text)] for c in chunks)  # whole sentences


def test_no_overlap_across_sections_or_after_a_table():
    document = _doc(
        Block("heading", "A", 1), _paragraph(0, 3), Block("heading", "B", 1), _paragraph(3, 3),
        Block("heading", "C", 1), Block("table", "\n".join(f"row {n} | value {n}" for n in range(40))),
        _paragraph(10, 3),
    )

    chunks = chunk(document, target_chars=300, max_chars=450, overlap_chars=100)

    assert _numbers(chunks[1].text) == [3, 4, 5]  # section B starts fresh
    table_text = "\n".join(c.text for c in chunks if c.heading == "C")
    assert len([c for c in chunks if c.heading == "C"]) >= 3
    assert [int(n) for n in re.findall(r"row (\d+) \|", table_text)] == list(range(40))  # rows never repeated
    assert _numbers(table_text) == [10, 11, 12]  # nor is the table's tail put before the paragraph


def test_no_chunk_exceeds_max_even_for_huge_sentences_and_words():
    huge_sentence = "word " * 900 + "end."
    blob = "x" * 5000
    document = _doc(Block("paragraph", huge_sentence), Block("paragraph", blob), Block("code", "line\n" * 800))

    chunks = chunk(document, target_chars=1000, max_chars=1500, overlap_chars=150)

    assert max(c.char_count for c in chunks) <= 1500
    assert "".join(c.text for c in chunks if set(c.text) == {"x"}) == blob  # cut where it stands, nothing lost


def test_a_tiny_tail_joins_the_chunk_before_it():
    document = _doc(_paragraph(0, 7), Block("paragraph", "Short end."))  # 321 characters, then 12 more: past 300

    chunks = chunk(document, target_chars=300, max_chars=450, overlap_chars=0)

    assert len(chunks) == 1
    assert chunks[0].text.endswith(_sentence(6) + "\n\nShort end.")
    assert chunks[0].char_count == 333


def test_a_tail_that_is_not_tiny_stays_its_own_chunk():
    document = _doc(_paragraph(0, 6), _paragraph(6, 2))

    chunks = chunk(document, target_chars=300, max_chars=450, overlap_chars=0)

    assert [_numbers(c.text) for c in chunks] == [[0, 1, 2, 3, 4, 5], [6, 7]]


def test_a_tiny_tail_does_not_join_across_sections():
    document = _doc(Block("heading", "A", 1), _paragraph(0, 6), Block("heading", "B", 1), Block("paragraph", "Hi."))

    assert [c.text for c in chunk(document, target_chars=300, max_chars=450)][-1] == "Hi."


def test_heading_only_sections_make_no_empty_chunk():
    document = _doc(
        Block("heading", "Product", 1),
        Block("heading", "Pricing", 2),       # under Product: the path names it
        Block("paragraph", "Ten dollars."),
        Block("heading", "Overview", 2),      # followed by a sibling: its text moves into the next chunk
        Block("heading", "Support", 2),
        Block("paragraph", "Email us."),
        Block("heading", "Changelog", 2),     # nothing after it at all
    )

    chunks = chunk(document)

    assert [(c.heading, c.text) for c in chunks] == [
        ("Product > Pricing", "Ten dollars."),
        ("Product > Support", "Overview\n\nEmail us."),
        ("Product", "Changelog"),
    ]
    assert all(c.text.strip() for c in chunks)


def test_page_is_the_page_of_the_first_block():
    document = _doc(_paragraph(0, 2, page=1), _paragraph(2, 2, page=2), _paragraph(4, 8, page=3))

    chunks = chunk(document, target_chars=300, max_chars=450, overlap_chars=0)

    assert [(c.page, _numbers(c.text)[0]) for c in chunks] == [(1, 0), (3, 4)]


def test_same_document_same_chunks():
    document = _doc(Block("heading", "A", 1), _paragraph(0, 50, page=1), Block("list_item", "x"))

    assert chunk(document, target_chars=200, max_chars=300) == chunk(document, target_chars=200, max_chars=300)


@pytest.mark.parametrize(("target", "maximum", "overlap"), [(0, 10, 0), (20, 10, 0), (100, 200, 100), (100, 200, -1)])
def test_inconsistent_sizes_are_refused(target, maximum, overlap):
    with pytest.raises(ValueError):
        chunk(_doc(Block("paragraph", "x")), target_chars=target, max_chars=maximum, overlap_chars=overlap)
