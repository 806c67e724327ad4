"""Project timelines ("asap", "within 3 months", "Q3", "by March") normalised to short text.

A meeting time ("next Tuesday at 3pm") is not a timeline: weekdays and clock times are left to scheduling.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" + (
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
)
_COUNTS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
}
_COUNT = r"(?P<count>\d{1,2}|" + "|".join(sorted(_COUNTS, key=len, reverse=True)) + ")"
_UNIT = r"(?P<unit>day|week|month|quarter|year)s?\b"
_PERIOD = r"(?P<period>week|month|quarter|year|spring|summer|fall|autumn|winter)\b"
_YEAR = r"(?:\s(?P<year>20\d{2})\b)?"

Normaliser = Callable[[re.Match[str]], str]


def _asap(_: re.Match[str]) -> str:
    return "asap"


def _within(match: re.Match[str]) -> str:
    raw = match.group("count").lower()
    count = int(raw) if raw.isdigit() else _COUNTS[raw]
    unit = match.group("unit").lower()
    return f"within {count} {unit}{'s' if count != 1 else ''}"


def _period(match: re.Match[str]) -> str:
    when = match.group("when").lower()
    when = {"the coming": "next", "coming": "next", "end of the": "end of", "end of this": "end of"}.get(when, when)
    return f"{when} {match.group('period').lower()}"


def _quarter(match: re.Match[str]) -> str:
    prefix = (match.group("prefix") or "").lower()
    prefix = "" if prefix in ("in", "during", "for", "in the", "") else prefix + " "
    year = match.group("year") or ""
    return f"{prefix}Q{match.group('q')}{' ' + year if year else ''}"


def _month(match: re.Match[str]) -> str:
    prefix = (match.group("prefix") or "").lower()
    prefix = {"in": "", "around": "", "during": "", "before": "by ", "until": "by "}.get(prefix, prefix + " ")
    name = next(m for m in _MONTHS if m.startswith(match.group("month").lower()[:3])).capitalize()
    year = match.group("year") or ""
    return f"{prefix.lstrip()}{name}{' ' + year if year else ''}"


def _year(match: re.Match[str]) -> str:
    prefix = match.group("prefix").lower()
    prefix = {"in": "", "during": "", "before": "by "}.get(prefix, prefix + " ")
    return f"{prefix}{match.group('year')}"


def _by_season(match: re.Match[str]) -> str:
    return f"by {match.group('season').lower()}"


def _no_rush(_: re.Match[str]) -> str:
    return "no rush"


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_HEDGE = r"(?:about |around |roughly |approximately |maybe |probably |like |just )?"
_IN_TEXT: tuple[tuple[re.Pattern[str], Normaliser], ...] = (
    (
        _rule(
            r"\b(?:asap|a\.s\.a\.p\.?|as soon as (?:possible|we can|you can)|right away|immediately|urgently|"
            r"(?:the )?sooner the better)(?!\w)"
        ),
        _asap,
    ),
    (_rule(rf"\b(?:(?:with)?in|over|during|next) (?:the )?(?:next )?{_HEDGE}{_COUNT} {_UNIT}"), _within),
    (
        _rule(rf"\b(?P<when>this|next|the coming|coming|early next|later this|end of (?:the|this)) {_PERIOD}"),
        _period,
    ),
    (_rule(r"\b(?P<when>eoy|end of (?:the )?year)\b"), lambda _: "end of year"),
    (
        _rule(rf"\b(?:(?P<prefix>by|before|in|in the|during|for|early|late|end of) )?q(?P<q>[1-4])\b{_YEAR}"),
        _quarter,
    ),
    (
        _rule(rf"\b(?P<prefix>by|before|until|in|around|during|early|mid|late|end of|start of) {_MONTH}{_YEAR}"),
        _month,
    ),
    (_rule(r"\b(?P<prefix>in|by|before|during|early|mid|late|end of) (?P<year>20\d{2})\b"), _year),
    (_rule(r"\b(?:by|before) (?:the )?(?P<season>spring|summer|fall|autumn|winter)\b"), _by_season),
    (_rule(r"\b(?:no rush|no hurry|not in a (?:rush|hurry)|whenever)\b"), _no_rush),
    (_rule(r"\b(?:timeline|timing|deadline|schedule|dates?)\b[^,;.!?]*\bflexible\b"), _no_rush),
)
# A bare answer to "when do you want to start?" can be a lone month, a duration or a shrug.
_BARE_ONLY: tuple[tuple[re.Pattern[str], Normaliser], ...] = (
    (_rule(rf"^(?P<prefix>)\s*{_MONTH}{_YEAR}$"), _month),
    (_rule(rf"^{_HEDGE}{_COUNT} {_UNIT}"), _within),
    (_rule(r"^(?:now|right now|today|this week)$"), _asap),
    (_rule(r"\b(?:not urgent|flexible)\b"), _no_rush),
)
_SCHEDULING_CLAUSE = _rule(r"\b(?:meet|meeting|call|demo|chat|talk|speak|available|free|book|schedule)\b")
_CLAUSE_BREAK = re.compile(r"[,;.!?]")
# "we signed a contract in 2023" tells history, not when the project should happen.
_PAST_BEFORE = _rule(
    r"\b(?:was|were|did|had|signed|tried|started|launched|founded|built|bought|opened|moved|ago|since|last)\b"
    r"[^,;.!?]{0,25}$"
)


def _first(text: str, rules: tuple[tuple[re.Pattern[str], Normaliser], ...]) -> tuple[re.Match[str], str] | None:
    best: tuple[re.Match[str], str] | None = None
    for pattern, normalise in rules:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0].start()):
            best = (match, normalise(match))
    return best


def _clause_around(text: str, start: int, end: int) -> str:
    before = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    after = next((m.start() for m in _CLAUSE_BREAK.finditer(text, end)), len(text))
    return text[before:after]


def find_timeline(text: str) -> str | None:
    """The words stating a timeline in free text, skipping clauses about meeting ("can we talk next week?")."""
    for pattern, _ in _IN_TEXT:
        for match in pattern.finditer(text):
            if _SCHEDULING_CLAUSE.search(_clause_around(text, match.start(), match.end())):
                continue
            if _PAST_BEFORE.search(text, 0, match.start()):
                continue
            return match.group()
    return None


def normalise_timeline(value: str) -> str:
    found = _first(value.strip().rstrip(".!"), _IN_TEXT + _BARE_ONLY)
    if found is None:
        raise FieldInvalid("I couldn't tell when; something like 'asap', 'next quarter' or 'within 3 months' helps")
    return found[1]
