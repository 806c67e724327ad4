"""Text into sentences, by rules rather than a model, so the same text always splits the same way.

- A sentence ends at ".", "!", "?" or an ellipsis (with any closing quotes or brackets after it), followed by
  whitespace and a character that is not lower case. So "e.g. the", "... and so" and "$1.5" never split.
- A "." does not end a sentence after a known abbreviation (Dr., Inc., vs., Ph.D., ...), an initial
  ("J."), a dotted acronym ("U.S.", "e.g."), or "No."/"p."/"Fig." and friends when a number follows ("No. 5").
  "etc.", "a.m." and "p.m." do end one when a capital follows: they usually close the sentence.
- A line that starts with a bullet or a number ("- ", "• ", "2. ", "b) ") starts a list item, never joined
  to the text before it; its marker ends nothing. A following line continues the item only if it is
  indented or starts in lower case (a wrapped item). Other lines of a paragraph join into running text.
- Whitespace inside a sentence is collapsed to single spaces; empty sentences are dropped.
"""

from __future__ import annotations

import re

# Month and day abbreviations that are also words ("sat", "sun", "wed", "mar", "may") are left out: "He sat."
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "rev", "hon", "gen", "col", "capt", "lt", "sgt",
    "gov", "sen", "pres", "inc", "ltd", "co", "corp", "llc", "plc", "bros", "dept", "univ", "assn",
    "vs", "cf", "al", "approx", "est", "ph.d", "m.d", "b.sc", "m.sc", "ave", "blvd", "rd",
    "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "thu",
    "thurs", "fri",
})
# Abbreviations that only stand before a number: "No. 5", "p. 12", "Fig. 3"; "the answer is no. Then" splits.
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "nr", "p", "pp", "fig", "figs", "vol", "ch", "sec", "art", "tel"})
_ENDS_ANYWAY = frozenset({"etc", "a.m", "p.m"})
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
_CANDIDATE = re.compile(r"(?:\.{3}|…|[.!?])+[\"'\u201d\u2019)\]]*(?=\s+(\S))")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•●▪◦‣\u2013]|\(?\d{1,3}[.)]|\(?[A-Za-z][.)])\s+\S")
_WHITESPACE = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for segment in _segments(text):
        sentences.extend(_split_segment(segment))
    return sentences


def _segments(text: str) -> list[str]:
    """Running text and list items, each as one line of single-spaced text."""
    segments: list[str] = []
    for paragraph in _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        current: list[str] = []
        in_item = False
        for line in paragraph.split("\n"):
            if not line.strip():
                continue
            wrapped_item = in_item and (line[:1].isspace() or line.lstrip()[:1].islower())
            if _LIST_MARKER.match(line) or (in_item and not wrapped_item):
                segments.append(" ".join(current))
                current = []
                in_item = bool(_LIST_MARKER.match(line))
            current.append(line)
        segments.append(" ".join(current))
    return [s for s in (_WHITESPACE.sub(" ", segment).strip() for segment in segments) if s]


def _split_segment(segment: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    marker = _LIST_MARKER.match(segment)
    marker_end = marker.end() - 1 if marker else 0  # the "2." of a list item ends nothing
    for match in _CANDIDATE.finditer(segment):
        if match.start() < marker_end or match.group(1)[:1].islower() or not _ends_here(segment, match):
            continue
        sentences.append(segment[start:match.end()].strip())
        start = match.end()
    sentences.append(segment[start:].strip())
    return [s for s in sentences if s]


def _ends_here(segment: str, match: re.Match[str]) -> bool:
    """Whether the punctuation of a candidate really ends the sentence (rules in the module docstring)."""
    punctuation = match.group(0).rstrip("\"'\u201d\u2019)]")
    if punctuation != ".":
        return True  # "!", "?", an ellipsis, or several marks
    before = segment[:match.start()].rsplit(maxsplit=1)
    word = before[-1].lstrip("([\"'\u201c\u2018") if before else ""
    lowered = word.lower()
    if not word or lowered in _ENDS_ANYWAY:
        return True
    if lowered in _ABBREVIATIONS or _DOTTED_ACRONYM.match(word):
        return False
    if len(word) == 1 and word.isupper():
        return False  # an initial: "J. Smith"
    return not (lowered in _NUMBER_ABBREVIATIONS and match.group(1)[:1].isdigit())
