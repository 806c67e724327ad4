"""The words of an instruction, as the workflow compiler reads them: tokens with their place in the text, the
reader that walks them (matching phrases, noting the words it could not take), and the vocabulary of amounts
and durations (``docs/workflows.md`` lists it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<quote>"[^"]*"|“[^”]*”)
  | (?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s,;"]+)
  | (?P<email>[^\s@,;:"]+@[^\s@,;:"]+\.[A-Za-z]{2,})
  | (?P<phone>\+\d{7,15}\b)
  | (?P<number>[$€£]?\d[\d,]*(?:\.\d+)?(?:[kKmM]\b)?)
  | (?P<symbol>>=|<=|!=|>|<|=)
  | (?P<word>[A-Za-z][A-Za-z_'\u2019-]*)
  | (?P<sep>[,;:.!?&])
  | (?P<other>\S)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # quote, url, email, phone, number, symbol, word, sep, other
    text: str  # as written (a quote without its quotation marks, a URL without a final full stop)
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower().replace("\u2019", "'")


def tokens(text: str) -> list[Token]:
    found: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        value, start, end = match.group(), match.start(), match.end()
        if kind == "quote":
            value = value[1:-1]
        elif kind == "url":
            stripped = value.rstrip(".!?)")
            end -= len(value) - len(stripped)
            value = stripped
        found.append(Token(kind, value, start, end))
    return found


_MULTIPLIERS = {"k": 1_000, "m": 1_000_000}
MULTIPLIER_WORDS = {"k": 1_000, "thousand": 1_000, "grand": 1_000, "m": 1_000_000, "million": 1_000_000,
                    "mm": 1_000_000}


def amount(token: Token) -> float | None:
    """``10k``, ``$10,000``, ``1.5m``, ``2000`` as a number; None when the token is not one."""
    if token.kind != "number":
        return None
    text = token.text.lstrip("$€£").replace(",", "")
    factor = 1
    if text[-1:].lower() in _MULTIPLIERS:
        factor, text = _MULTIPLIERS[text[-1].lower()], text[:-1]
    try:
        return float(text) * factor
    except ValueError:
        return None


def whole(value: float) -> float | int:
    return int(value) if value == int(value) else value


UNITS = {"second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1,
         "minute": 60, "minutes": 60, "min": 60, "mins": 60,
         "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "h": 3600,
         "day": 86400, "days": 86400, "week": 604800, "weeks": 604800}
ONE = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "fifteen": 15,
       "twenty": 20, "thirty": 30, "half": 0.5}


STOP = frozenset({"a", "an", "the", "is", "are", "to", "of", "and", "please"})

@dataclass(frozen=True)
class Unrecognized:
    word: str
    start: int
    end: int


@dataclass
class Reader:
    toks: list[Token]
    i: int = 0
    unknown: list[Unrecognized] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.i >= len(self.toks)

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def phrase(self, pattern: str, at: int | None = None) -> int | None:
        """Where the pattern ends when it matches at ``at`` (default: here); None when it does not."""
        j = self.i if at is None else at
        for element in pattern.split():
            optional = element.endswith("?") and len(element) > 1
            choices = element.rstrip("?").split("|") if optional else element.split("|")
            tok = self.toks[j] if j < len(self.toks) else None
            if tok is not None and tok.kind in ("word", "sep", "symbol") and tok.low in choices:
                j += 1
            elif not optional:
                return None
        return j

    def longest(self, patterns: tuple[str, ...]) -> tuple[str, int] | None:
        best: tuple[str, int] | None = None
        for pattern in patterns:
            end = self.phrase(pattern)
            if end is not None and end > self.i and (best is None or end > best[1]):
                best = (pattern, end)
        return best

    def skip(self) -> None:
        tok = self.toks[self.i]
        if not (tok.kind in ("word", "sep") and tok.low in STOP | {",", ";", ".", ":", "!", "?"}):
            self.unknown.append(Unrecognized(tok.text, tok.start, tok.end))
        self.i += 1
