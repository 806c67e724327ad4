import codecs

import pytest

from afo_knowledge_ingest.adapters.parsers import parse
from afo_knowledge_ingest.domain.documents import Block, UnreadableDocument

MARKDOWN = """---
title: "Support Guide"
tags: [help]
---
# Getting Started

Install the **CLI** with [pip](https://pypi.org) and run `afo up`.
It takes a minute.

- First step
  - Nested step
1. Numbered step

```python
print("hi")
    indented()
```

## Limits

| Plan | Requests |
|------|----------|
| Free | 100      |

> Quoted advice.

![Diagram of the flow](flow.png)
"""


def test_markdown_blocks_from_the_token_stream():
    parsed = parse(MARKDOWN.encode(), "text/markdown", "guide.md")

    assert parsed.title == "Support Guide"  # front matter, not content
    assert parsed.blocks == [
        Block("heading", "Getting Started", 1),
        Block("paragraph", "Install the CLI with pip and run afo up. It takes a minute."),
        Block("list_item", "First step"),
        Block("list_item", "Nested step"),
        Block("list_item", "Numbered step"),
        Block("code", 'print("hi")\n    indented()'),
        Block("heading", "Limits", 2),
        Block("table", "Plan | Requests\nFree | 100"),
        Block("paragraph", "Quoted advice."),
        Block("paragraph", "Diagram of the flow"),
    ]


def test_markdown_title_is_the_first_top_level_heading():
    parsed = parse(b"Intro line.\n\n## Second\n\ntext\n\n## Other\n", "text/markdown", "a.md")

    assert parsed.title == "Second"


def test_plain_text_title_paragraphs_and_lists():
    text = "Refund Policy\nWe refund within 30 days.\nAsk support.\n\n  \nTerms:\n- one\n- two\n  wrapped\n"

    parsed = parse(text.encode(), "text/plain", "refunds.txt")

    assert parsed.title == "Refund Policy"
    assert parsed.blocks == [
        Block("heading", "Refund Policy", 1),
        Block("paragraph", "We refund within 30 days. Ask support."),
        Block("paragraph", "Terms:"),
        Block("list_item", "- one"),
        Block("list_item", "- two wrapped"),
    ]


def test_plain_text_starting_with_a_sentence_has_no_title_but_the_file_name():
    parsed = parse(b"This is a sentence. And another.", "text/plain", "notes/meeting-notes.txt")

    assert parsed.title == "meeting-notes"
    assert parsed.blocks == [Block("paragraph", "This is a sentence. And another.")]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (codecs.BOM_UTF8 + "Grüße aus Köln.".encode(), "Grüße aus Köln."),
        ("Grüße aus Köln.".encode("utf-16"), "Grüße aus Köln."),  # with its BOM
        ("Café “quoted” \u2013 5€.".encode("cp1252"), "Café “quoted” \u2013 5€."),  # not UTF-8, clean cp1252
        # a stray control character in valid UTF-8 is dropped; one in every few characters is refused (below)
        (b"Tab\tand NUL\x00 dropped." + b" Filler words." * 10, "Tab and NUL dropped." + " Filler words." * 10),
    ],
)
def test_text_decoding(data, text):
    assert parse(data, "text/plain", "a.txt").blocks == [Block("paragraph", text)]


@pytest.mark.parametrize(
    "data",
    [
        b"\x81\x8d\x8f\x90 undefined in cp1252, invalid in UTF-8",
        "UTF-16 without a BOM".encode("utf-16-le"),
        codecs.BOM_UTF8 + b"\xff\xfe broken after a UTF-8 BOM",
    ],
)
def test_undecodable_text_is_bad_encoding(data):
    with pytest.raises(UnreadableDocument) as raised:
        parse(data, "text/plain", "a.txt")

    assert raised.value.code == "bad_encoding"


@pytest.mark.parametrize("media_type", ["text/plain", "text/markdown", "text/html", "application/pdf", DOCX := (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document")])
@pytest.mark.parametrize("data", [b"", b" \n\t "])
def test_an_empty_file_is_empty(media_type, data):
    with pytest.raises(UnreadableDocument) as raised:
        parse(data, media_type, "empty")

    assert raised.value.code == "empty"


def test_unknown_media_type_is_unsupported():
    with pytest.raises(UnreadableDocument) as raised:
        parse(b"GIF89a", "image/gif", "x.gif")

    assert raised.value.code == "unsupported_type"


def test_a_generic_media_type_is_resolved_by_extension():
    assert parse(b"# Hi\n\nthere", "application/octet-stream", "README.MD").blocks[0] == Block("heading", "Hi", 1)


def test_too_much_text_is_too_large(monkeypatch):
    monkeypatch.setattr("afo_knowledge_ingest.adapters.parsers.plain_text.MAX_TEXT_CHARS", 10)

    with pytest.raises(UnreadableDocument) as raised:
        parse(b"x" * 11, "text/plain", "a.txt")

    assert raised.value.code == "too_large"
