import pytest

from afo_knowledge_ingest.adapters.parsers import parse
from afo_knowledge_ingest.domain.documents import Block, UnreadableDocument

PAGE = """<!doctype html><html><head><title> Acme &amp; Co Docs </title><style>p { color: red }</style>
<script>var tracking = "SCRIPT";</script></head><body>
<header><a href="/">Home</a> Site banner</header>
<nav><ul><li>Menu item</li></ul></nav>
<main><article>
  <header><h1>Pricing</h1></header>
  <p>Plans  start at <b>$10</b>.<br>Billed monthly.</p>
  <div>Loose text in a div <em>counts</em> too.</div>
  <ul><li>Starter</li><li>Pro<ul><li>Pro annual</li></ul></li></ul>
  <h2>Enterprise</h2>
  <table><tr><th>Plan</th><th>Seats</th></tr><tr><td>Gold</td><td>50</td></tr></table>
  <table><tr><td><p>A layout cell paragraph.</p></td></tr></table>
  <pre>curl -X POST \\
    https://api.example.com</pre>
  <div hidden>Hidden text</div><aside>Related ads</aside><noscript>Enable JS</noscript>
  <svg><text>SVG label</text></svg>
</article></main>
<footer>Copyright footer</footer></body></html>"""


def test_blocks_title_and_dropped_furniture():
    parsed = parse(PAGE.encode(), "text/html; charset=utf-8", "pricing.html")

    assert parsed.title == "Acme & Co Docs"
    assert parsed.blocks == [
        Block("heading", "Pricing", 1),
        Block("paragraph", "Plans start at $10. Billed monthly."),
        Block("paragraph", "Loose text in a div counts too."),
        Block("list_item", "Starter"),
        Block("list_item", "Pro"),
        Block("list_item", "Pro annual"),
        Block("heading", "Enterprise", 2),
        Block("table", "Plan | Seats\nGold | 50"),
        Block("paragraph", "A layout cell paragraph."),
        Block("code", "curl -X POST \\\n    https://api.example.com"),
    ]
    everything = " ".join(b.text for b in parsed.blocks)
    for dropped in ("SCRIPT", "Site banner", "Menu item", "Hidden text", "Related ads", "Enable JS", "SVG label",
                    "Copyright", "color"):
        assert dropped not in everything


def test_the_first_h1_is_the_title_without_a_title_element():
    parsed = parse(b"<h2>Intro</h2><p>x</p><h1>Main Topic</h1><p>y</p>", "text/html", "page.html")

    assert parsed.title == "Main Topic"


def test_declared_charset_is_used():
    data = '<html><head><meta charset="iso-8859-1"></head><body><p>Café crème</p></body></html>'.encode("latin-1")

    assert parse(data, "text/html", "x.html").blocks == [Block("paragraph", "Café crème")]


def test_html_with_only_scripts_is_empty():
    with pytest.raises(UnreadableDocument) as raised:
        parse(b"<html><head><script>alert(1)</script></head><body><script>x()</script></body></html>",
              "text/html", "x.html")

    assert raised.value.code == "empty"
