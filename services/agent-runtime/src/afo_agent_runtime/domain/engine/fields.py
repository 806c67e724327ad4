"""Finding qualification field values in what a lead writes, and validating them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from afo_agent_runtime.domain.agent import FieldKind, QualificationField
from afo_agent_runtime.domain.engine.budget import find_money
from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid
from afo_agent_runtime.domain.engine.field_values import validate_field
from afo_agent_runtime.domain.engine.text import clean
from afo_agent_runtime.domain.engine.timeline import find_timeline

__all__ = ["Extraction", "FieldInvalid", "extract_fields", "validate_field"]


@dataclass(frozen=True)
class Extraction:
    values: dict[str, str]  # field name -> normalised value
    invalid: dict[str, str]  # field name -> reason the value found for it was rejected


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_CAPITALISED = r"(?-i:[A-Z])[\w'-]*"
_EMAIL_TOKEN = _rule(r"[^\s@<>(),;:\"]+@[^\s@<>(),;:\"]*")
_EMAIL_CLAIM = _rule(r"\be-?mail(?: address)?(?: is|:)\s*(?P<value>[^\s,;]+)")
_PHONE = _rule(
    r"(?:\b(?:phone|number|cell|mobile|tel|whatsapp|call me at|reach me at|text me at)\b(?: number)?"
    r"(?: is|:)?\s*(?P<value>\+?\d[\d ().-]{5,}\d))|(?P<intl>\+\d[\d ().-]{5,}\d)|"
    r"(?P<us>\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b)"
)
_NAME_CLAIM = _rule(r"\b(?:my name is|my name's|name:)\s+(?P<value>[^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*){0,2})")
_NAME_INTRO = _rule(rf"\b(?:i'm|i am|this is)\s+(?P<value>{_CAPITALISED}(?: {_CAPITALISED}){{0,2}})")
_NOT_A_NAME = _rule(
    r"^(?:interested|looking|here|just|not|good|fine|great|sorry|happy|writing|calling|reaching|trying|the|an?|"
    r"in|on|at|from|with|also|so|very|really|ok|okay|still|new|back|available|free|busy|ready|sure|glad|"
    r"excited|curious|wondering|hoping|planning|working|ceo|cto|cfo|coo|founder|owner)$"
)
_NAME_STOPS = frozenset({"and", "from", "at", "with", "of", "i", "we", "here"})
_COMPANY = _rule(
    r"\b(?:i work (?:at|for)|i'm working (?:at|for)|we work (?:at|for)|(?:i'm|i am) (?:from|with)|"
    r"(?:my|our) (?:company|business|organi[sz]ation|employer|firm|startup|agency) is(?: called)?|"
    r"company(?: name)?(?: is|:)|on behalf of|representing|"
    rf"(?:i'm|i am|this is) {_CAPITALISED}(?: {_CAPITALISED})?,? (?:from|at|with))\s+"
    r"(?P<value>[^\s,;.!?][^,;!?\n]*)"
)
_COMPANY_END = _rule(r"\.(?:\s|$)| (?:and|where|but|because|so|who|which|we|i|-) ")
_NEED = _rule(
    r"\b(?:(?:we|i) (?:really )?(?:need|want)|(?:we're|we are|i'm|i am) (?:looking for|interested in)|"
    r"^looking for|our (?:main )?(?:need|goal|problem|challenge) is)\s+(?P<value>[^,;.!?\n]+)"
)
_NOT_A_NEED = _rule(
    r"^(?:to )?(?:talk|speak|chat|meet|book|schedule|call|reach|contact|stop|unsubscribe|know|ask|see|hear|"
    r"get in touch)\b|^(?:a |an |some |the |to )?(?:human|person|agent|representative|someone|somebody|demo|"
    r"call|meeting|price|prices|pricing|quote|minute|moment|second|break)\b|^(?:it|this|that|them|one|you)\b"
)
_BUDGET_CONTEXT = _rule(r"\b(?:budget|spend|invest|afford|allocated?|set aside|pay)\b")
_FILLER = _rule(
    r"^(?:(?:sure|yes|yeah|yep|ok|okay|well|so|um+|uh+|hmm+|oops|sorry|actually|hi|hello|hey|thanks|"
    r"thank you|it's|it is|that's|that is|that would be|"
    r"we're|we are|i'm|i am|my name is|my name's|name's|(?:my|our|the) (?:company|business) is|"
    r"company is|we need|i need|we want|about|around|roughly|approximately|approx|maybe|probably)"
    r"\b[\s,:.-]*)+"
)
_BARE_CUT = re.compile(r"[,;!?\n]")
_SEARCHED_KINDS: frozenset[FieldKind] = frozenset({"email", "phone", "budget", "timeline"})


def _email(text: str) -> str | None:
    token = _EMAIL_TOKEN.search(text)
    if token:
        return token.group().rstrip(".!?'")
    claim = _EMAIL_CLAIM.search(text)
    return claim.group("value") if claim else None


def _phone(text: str) -> str | None:
    match = _PHONE.search(text)
    if match is None:
        return None
    return match.group("value") or match.group("intl") or match.group("us")


def _name(text: str) -> str | None:
    for pattern in (_NAME_CLAIM, _NAME_INTRO):
        match = pattern.search(text)
        if match is None:
            continue
        words: list[str] = []
        for word in match.group("value").split():
            if word.lower() in _NAME_STOPS:
                break
            words.append(word)
        if words and not _NOT_A_NAME.match(words[0]):
            return " ".join(words)
    return None


def _company(text: str) -> str | None:
    match = _COMPANY.search(text)
    if match is None:
        return None
    value = match.group("value")
    end = _COMPANY_END.search(value)
    words = (value[: end.start()] if end else value).split()
    return " ".join(words[:6]) or None


def _need(text: str) -> str | None:
    for match in _NEED.finditer(text):
        value = match.group("value").strip()
        if _NOT_A_NEED.search(value):
            continue
        # "we want to launch next quarter" states a timeline, not a need.
        if find_timeline(value) and len(value.split()) <= 4:
            continue
        return value
    return None


def _budget(text: str) -> str | None:
    contexts = [m.start() for m in _BUDGET_CONTEXT.finditer(text)]
    amounts = find_money(text)
    near = [(pos, money) for pos, money in amounts if any(abs(pos - c) <= 40 for c in contexts)]
    marked = [(pos, money) for pos, money in near if money.marked]
    chosen = marked or near
    return chosen[0][1].text if chosen else None


_FINDERS: dict[FieldKind, Callable[[str], str | None]] = {
    "email": _email,
    "phone": _phone,
    "company": _company,
    "need": _need,
    "budget": _budget,
    "timeline": find_timeline,
    "name": _name,
}


def _check(field: QualificationField, raw: str, extraction: Extraction) -> None:
    try:
        extraction.values[field.name] = validate_field(field.kind, raw)
    except FieldInvalid as exc:
        extraction.invalid[field.name] = exc.reason


def _bare_answer(field: QualificationField, message: str, found: Sequence[str]) -> str | None:
    """The message read as a direct answer to the question for `field`, trimmed of small talk.

    When the message also gave other fields ("Acme, and we need a chatbot"), only a capitalised first
    phrase can be a name or company, and a free-text answer is not guessed at.
    """
    if field.kind in _SEARCHED_KINDS:
        return message
    answer = _FILLER.sub("", message).strip()
    if field.kind in ("company", "name"):
        answer = _BARE_CUT.split(answer, maxsplit=1)[0].strip()
    answer = answer[:500]
    if found and (field.kind not in ("company", "name") or not answer[:1].isupper()):
        return None
    if any(value.lower() in answer.lower() for value in found):
        return None
    if field.kind == "need" and _NOT_A_NEED.search(answer):
        return None
    return answer or None


def extract_fields(text: str, fields: Sequence[QualificationField], awaiting: str | None) -> Extraction:
    """Every configured field found in `text`; valid values in `values`, rejected ones in `invalid`.

    A kind's value goes to the first field of that kind, the awaited field first. When `awaiting` names a
    field the text did not fill, the message is taken as the answer to it, unless it asks something.
    """
    message = clean(text)
    extraction = Extraction(values={}, invalid={})
    awaited = next((f for f in fields if f.name == awaiting), None)
    ordered = ([awaited] if awaited else []) + [f for f in fields if f is not awaited]
    used_kinds: set[FieldKind] = set()
    found: list[str] = []
    for field in ordered:
        finder = _FINDERS.get(field.kind)
        if field.kind in used_kinds or finder is None:
            continue
        raw = finder(message)
        if raw is not None:
            used_kinds.add(field.kind)
            found.append(raw)
            _check(field, raw, extraction)
    if awaited is None or awaited.name in extraction.values or awaited.name in extraction.invalid:
        return extraction
    if message.endswith("?"):
        return extraction
    answer = _bare_answer(awaited, message, found)
    if answer is not None:
        _check(awaited, answer, extraction)
    return extraction
