"""HTML with selectolax (lexbor): page furniture dropped, then blocks in reading order.

- Dropped with their content: script, style, noscript, svg, template, iframe, nav, aside, anything hidden
  (``hidden``, ``aria-hidden="true"``, ``role="navigation"``), and header/footer when they belong to the page
  rather than to an article or section (a header inside an article usually holds its title).
- h1-h6 are headings; p, li, pre (as code), dd/dt and figcaption are blocks; a data table is one table block
  with rows as "cell | cell"; a table holding block elements is layout and is read through.
- Text standing loose in a container (a div with no p) is a paragraph, so it is not lost.
- The title is <title>, else the first h1.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from afo_knowledge_ingest.adapters.parsers.cleaning import block, clean_inline, decode_text, document
from afo_knowledge_ingest.adapters.parsers.limits import TextBudget
from afo_knowledge_ingest.domain.documents import Block, BlockKind, ParsedDocument

_DROPPED = (
    "script, style, noscript, svg, template, iframe, nav, aside, [hidden], [aria-hidden=true], [role=navigation]"
)
_SECTIONING = frozenset({"article", "main", "section"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_TEXT_BLOCKS: dict[str, BlockKind] = {
    "p": "paragraph", "dt": "paragraph", "dd": "paragraph", "figcaption": "paragraph", "li": "list_item",
}
_INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "font", "i", "img", "input",
    "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
    "wbr",
})
_STRUCTURAL = frozenset({
    "p", "div", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "section", "article",
})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def parse_html(data: bytes) -> ParsedDocument:
    declared = _META_CHARSET.search(data[:4096])
    tree = LexborHTMLParser(decode_text(data, declared.group(1).decode("ascii") if declared else None))
    for node in tree.css(_DROPPED):
        node.decompose()
    for node in tree.css("header, footer"):
        if not _inside_sectioning(node):
            node.decompose()

    blocks: list[Block] = []
    if tree.body is not None:
        _walk(tree.body, blocks)
    budget = TextBudget()
    for made in blocks:
        budget.spend(made.text)
    title_node = tree.css_first("title")
    title = title_node.text() if title_node is not None else ""
    first_h1 = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return document(clean_inline(title) or first_h1, blocks,
                    empty_reason="no text once scripts, styles and navigation are removed")


def _inside_sectioning(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _SECTIONING:
            return True
        parent = parent.parent
    return False


def _walk(container: LexborNode, blocks: list[Block], loose_kind: BlockKind = "paragraph") -> None:
    """Blocks from a container's children; runs of loose inline content between them become paragraphs."""
    loose: list[str] = []

    def flush_loose() -> None:
        made = block(loose_kind, "".join(loose))
        if made is not None:
            blocks.append(made)
        loose.clear()

    for child in container.iter(include_text=True):
        tag = child.tag or ""
        if child.is_text_node or tag in _INLINE:
            loose.append(_inline_text(child))
            continue
        if tag.startswith("-"):  # comments and other non-element nodes
            continue
        flush_loose()
        _add_element(child, tag, blocks)
    flush_loose()


def _add_element(node: LexborNode, tag: str, blocks: list[Block]) -> None:
    made: Block | None
    if tag in _HEADINGS:
        made = block("heading", _inline_text(node), level=_HEADINGS[tag])
    elif tag == "pre":
        made = block("code", node.text(deep=True, separator=""))
    elif tag == "table" and not _holds(node, _STRUCTURAL):
        made = _table_block(node)
    elif tag == "li" and _holds(node, _STRUCTURAL):
        _walk(node, blocks, "list_item")  # a list item holding a nested list: its own text, then the nested items
        return
    elif tag in _TEXT_BLOCKS and not _holds(node, _STRUCTURAL):
        made = block(_TEXT_BLOCKS[tag], _inline_text(node))
    else:
        _walk(node, blocks)
        return
    if made is not None:
        blocks.append(made)


def _holds(node: LexborNode, tags: frozenset[str]) -> bool:
    """Whether any element below the node (not the node itself) is one of these tags."""
    return any(d.tag in tags for child in node.iter() for d in child.traverse())


def _inline_text(node: LexborNode) -> str:
    """Text of inline content; <br> becomes a space so that the words on either side stay apart."""
    if node.is_text_node:
        return node.text_content or ""
    if node.tag == "br":
        return " "
    return "".join(_inline_text(child) for child in node.iter(include_text=True))


def _table_block(table: LexborNode) -> Block | None:
    rows = []
    for row in table.css("tr"):
        cells = [clean_inline(_inline_text(cell)) for cell in row.iter() if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return block("table", "\n".join(rows))
