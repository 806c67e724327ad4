"""Sentences and content words of a passage or a question, for extractive answers (``answers.py``).

Splitting:
- a sentence ends at ``.``, ``!`` or ``?`` (and any closing quote or bracket) followed by white space and
  then a capital, a digit or an opening quote or bracket;
- not after a known abbreviation ("Dr.", "Inc.", "e.g.", "approx."), a single capital initial ("J. Smith"),
  nor inside a number ("3.5", "$1,299.00": no white space follows those dots);
- a line break ends a sentence when the line ends in terminal punctuation, is short (a heading, a list
  item) or the next line opens a list item; a long line without terminal punctuation was wrapped (as PDF
  text is), so it goes on into the next line;
- bullets and list numbers opening a line are dropped, and so are blank pieces.

Content words: lower-case runs of letters and digits, stop-words (function words, question words and
chat filler) removed, stemmed lightly — plurals, -ing, -ed, -ly and a final e — so that "prices",
"pricing" and "priced" agree. No synonyms."""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset({
    "dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "mt", "inc", "ltd", "co", "corp", "llc", "plc", "dept",
    "e.g", "i.e", "vs", "approx", "est", "fig", "no", "nos", "incl", "min", "max", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "a.m", "p.m", "ca", "cf", "al",
})
_CLOSERS = "\"'\u201d\u2019)\\]"  # quotes and brackets closing a sentence
_OPENERS = "\"'\u201c\u2018(\\["
_END = re.compile(rf"([.!?]+)([{_CLOSERS}]*)\s+(?=[{_OPENERS}]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u00b7\u2013]|\d{1,2}[.)]|[a-z][.)])\s+")
_TERMINAL = re.compile(rf"[.!?:][{_CLOSERS}]*$")
# A line shorter than this without terminal punctuation is a heading or a list item, not a wrapped line.
_WRAPPED_LINE_CHARS = 50

_STOP_WORDS = frozenset({
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "done", "down", "during", "each", "either", "else", "ever", "every", "few", "for", "from", "further",
    "get", "gets", "got", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i",
    "if", "in", "into", "is", "it", "its", "itself", "just", "let", "me", "more", "most", "much", "must", "my",
    "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours", "out",
    "over", "own", "per", "please", "quite", "rather", "really", "same", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "though",
    "through", "to", "too", "under", "until", "up", "upon", "us", "very", "via", "was", "we", "were", "what",
    "whats", "when", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "would",
    "yes", "yet", "you", "your", "yours", "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "tell", "know",
    "want", "like", "need", "wondering", "wonder", "question", "ask", "asking", "curious", "anyone", "someone",
    "something", "thing", "things", "way", "kind", "sort", "guys"
})
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, in order, stripped."""
    sentences: list[str] = []
    for line in _logical_lines(text):
        start = 0
        for end in _END.finditer(line):
            if end.group(1) == "." and _abbreviated(line, end.start()):
                continue
            sentences.append(line[start:end.end()].strip())
            start = end.end()
        sentences.append(line[start:].strip())
    return [s for s in sentences if s]


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    wrapped = False
    for raw in text.replace("\r", "").split("\n"):
        bullet = _BULLET.match(raw) is not None
        line = _BULLET.sub("", raw).strip()
        if not line:
            wrapped = False
            continue
        if wrapped and not bullet and lines:
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
        last = lines[-1]
        wrapped = len(line) >= _WRAPPED_LINE_CHARS and not _TERMINAL.search(last)
    return lines


def _abbreviated(line: str, dot: int) -> bool:
    word = _WORD_BEFORE.search(line[:dot])
    if word is None:
        return False
    token = word.group(1)
    if len(token) == 1 and token.isupper():
        return True  # an initial: "J. Smith"
    return token.lower().rstrip(".") in _ABBREVIATIONS


def stem(word: str) -> str:
    """A light suffix stripper: enough for "refunds"/"refund" and "pricing"/"prices", never a dictionary."""
    if word.isdigit() or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]  # "shipping" -> "ship", but "billing" -> "bill"
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """The stemmed content words of ``text``."""
    words = set()
    for token in _WORD.findall(text.lower().replace("\u2019", "'")):
        token = token.split("'")[0]  # "company's" -> "company", "don't" -> "don" (a stop word below)
        if token and token not in _STOP_WORDS and token not in ("don", "doesn", "isn", "aren", "can"):
            words.add(stem(token))
    return words


def trim(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: cut at the last clause break (, ; : —) past half the limit,
    else at the last word, and marked with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    clause = max(head.rfind(mark) for mark in (", ", "; ", ": ", " \u2014 ", " \u2013 "))
    cut = clause if clause >= limit // 2 else head.rfind(" ")
    return (head[:cut] if cut > 0 else head).rstrip(" ,;:\u2014\u2013") + "…"
