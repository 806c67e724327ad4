"""Budget amounts in free text ("$10k", "around 5K USD", "€2.5m", "50k-80k") normalised to "USD 10000"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid

_SYMBOLS = {
    "us$": "USD",
    "c$": "CAD",
    "a$": "AUD",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
}
_WORDS = {
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
}
_CODES = (
    "usd",
    "eur",
    "gbp",
    "cad",
    "aud",
    "chf",
    "inr",
    "jpy",
    "sek",
    "nok",
    "dkk",
    "nzd",
    "sgd",
    "mxn",
    "brl",
)
_MULTIPLIERS = {
    "k": 1_000,
    "thousand": 1_000,
    "grand": 1_000,
    "m": 1_000_000,
    "mm": 1_000_000,
    "mil": 1_000_000,
    "million": 1_000_000,
    "b": 1_000_000_000,
    "bn": 1_000_000_000,
    "billion": 1_000_000_000,
}
_MAX_AMOUNT = Decimal(10) ** 12

_COUNTED_UNIT = re.compile(
    r"\s?(?:%|percent|am\b|pm\b|[ap]\.m\.|(?:minute|hour|day|week|month|quarter|year|people|person|employee|"
    r"user|seat|customer|lead|agent|location|store|office)s?\b)",
    re.IGNORECASE,
)
_SYMBOL = r"(?:us\$|c\$|a\$|[$€£¥₹])"
_WORD = "|".join([*_CODES, *sorted(_WORDS, key=len, reverse=True)])
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MULTIPLIER = r"thousand|grand|million|mil|mm|m|billion|bn|b|k"


def _amount(n: str) -> str:
    return rf"(?P<num{n}>{_NUMBER})\s?(?:(?P<mul{n}>{_MULTIPLIER})\b)?"


MONEY = re.compile(
    rf"(?:(?P<symbol>{_SYMBOL})|\b(?P<code>{_WORD})\s?)?\s?(?<![\w.,]){_amount('1')}"
    rf"(?:\s?(?:-|to|and)\s?(?:{_SYMBOL})?\s?{_amount('2')})?"
    rf"(?:\s?\b(?P<suffix>{_WORD})\b)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Money:
    currency: str | None
    low: Decimal
    high: Decimal | None
    marked: bool  # a currency or a multiplier says this number is money, not a head count or a year
    text: str  # as written

    def normalised(self) -> str:
        currency = self.currency or "USD"
        if self.high is None or self.high == self.low:
            return f"{currency} {_format(self.low)}"
        return f"{currency} {_format(self.low)}-{_format(self.high)}"


def _format(amount: Decimal) -> str:
    if amount == amount.to_integral_value():
        return str(int(amount))
    return f"{amount:.2f}"


def _currency(match: re.Match[str]) -> str | None:
    for group in ("symbol", "code", "suffix"):
        token = (match.group(group) or "").lower()
        if token:
            return _SYMBOLS.get(token) or _WORDS.get(token) or token.upper()
    return None


def _scaled(number: str, multiplier: str | None) -> Decimal:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return Decimal(0)
    return value * _MULTIPLIERS.get((multiplier or "").lower(), 1)


def _money(match: re.Match[str]) -> Money:
    low = _scaled(match.group("num1"), match.group("mul1"))
    high: Decimal | None = None
    if match.group("num2"):
        high = _scaled(match.group("num2"), match.group("mul2"))
        # "$50-80k" means 50k to 80k: the multiplier written once applies to both ends.
        shared = _MULTIPLIERS.get((match.group("mul2") or "").lower(), 1)
        if not match.group("mul1") and low * shared <= high:
            low *= shared
        low, high = min(low, high), max(low, high)
    currency = _currency(match)
    marked = currency is not None or bool(match.group("mul1") or match.group("mul2"))
    return Money(currency=currency, low=low, high=high, marked=marked, text=match.group().strip())


def find_money(text: str) -> list[tuple[int, Money]]:
    """Every amount in the text with its position; plain counts of other things ("3 months") are skipped."""
    found = []
    for match in MONEY.finditer(text):
        money = _money(match)
        if money.marked or not _COUNTED_UNIT.match(text, match.end()):
            found.append((match.start(), money))
    return found


def normalise_budget(value: str) -> str:
    """The first currency-marked amount in the value, else the first number, as "USD 10000"."""
    found = [money for _, money in find_money(value)]
    if not found:
        raise FieldInvalid("I couldn't find an amount in that; a rough figure or a range like 5k-10k is fine")
    money = next((m for m in found if m.marked), found[0])
    if money.low <= 0:
        raise FieldInvalid("the budget should be more than zero")
    if (money.high or money.low) > _MAX_AMOUNT:
        raise FieldInvalid("that amount looks too large for a budget")
    return money.normalised()


# Words that say an amount is what the lead can spend.
_BUDGET_CUE = re.compile(
    r"\b(?:budget|spend|spending|invest|afford|allocated?|set aside|ceiling|cap|max|maximum|up to|no more than|"
    r"tops|stretch to|range|money|willing to pay|(?:can|could|would|will) pay|(?:can|could) do)\b",
    re.IGNORECASE,
)
# Words that make an amount something else: a price seen, a current bill, revenue, a raise.
_NOT_BUDGET = re.compile(
    r"\b(?:plan|pricing|price list|costs?|charges?|currently|already|current|revenue|raised|earn|make|made|"
    r"turnover|sales|salary|saved|lost|per lead)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,;.!?]\s|\s-\s")
_SHORT_ANSWER_WORDS = 8


def _clause_at(text: str, pos: int) -> str:
    before = max((m.end() for m in _CLAUSE.finditer(text, 0, pos)), default=0)
    after = next((m.start() for m in _CLAUSE.finditer(text, pos)), len(text))
    return text[before:after]


def find_budget(text: str) -> str | None:
    """The amount the lead can spend, as written.

    An amount counts when a budget word is within 40 characters, or, when it is marked as money (a currency
    or a multiplier), when the whole message is short ("around 40 thousand dollars", "we have 100k").
    Either way not when its own clause says it is a price, a current bill or revenue.
    """
    cues = [m.start() for m in _BUDGET_CUE.finditer(text)]
    short = len(text.split()) <= _SHORT_ANSWER_WORDS
    chosen: list[Money] = []
    for pos, money in find_money(text):
        if _NOT_BUDGET.search(_clause_at(text, pos)):
            continue
        if any(abs(pos - cue) <= 40 for cue in cues) or (money.marked and short):
            chosen.append(money)
    marked = [money for money in chosen if money.marked]
    return (marked or chosen)[0].text if chosen else None
