"""Finding qualification field values in what a lead writes, and validating them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from afo_agent_runtime.domain.agent import FieldKind, QualificationField
from afo_agent_runtime.domain.engine.budget import find_budget
from afo_agent_runtime.domain.engine.companies import find_company
from afo_agent_runtime.domain.engine.contacts import find_email, find_phone
from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid
from afo_agent_runtime.domain.engine.field_values import validate_field
from afo_agent_runtime.domain.engine.names import bare_name, find_name
from afo_agent_runtime.domain.engine.needs import find_need, is_not_a_need
from afo_agent_runtime.domain.engine.phone_region import DEFAULT_PHONE_REGION
from afo_agent_runtime.domain.engine.text import clean
from afo_agent_runtime.domain.engine.timeline import find_timeline
from afo_agent_runtime.domain.engine.words import SPELLED_ADDRESS, fix_cue_words

__all__ = ["Extraction", "FieldInvalid", "extract_fields", "validate_field"]


@dataclass(frozen=True)
class Extraction:
    values: dict[str, str]  # field name -> normalised value
    invalid: dict[str, str]  # field name -> reason the value found for it was rejected


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_FILLER = _rule(
    r"^(?:(?:sure|yes|yeah|yep|ok|okay|well|so|um+|uh+|hmm+|oops|sorry|actually|hi|hello|hey|thanks|"
    r"thank you|it's|it is|that's|that is|that would be|it's called|we're called|called|"
    r"we're|we are|i'm|i am|im|my name is|my name's|name's|(?:my|our|the) (?:company|business) is|"
    r"company is|we need|i need|we want|about|around|roughly|approximately|approx|maybe|probably|mostly|mainly)"
    r"\b[\s,:.-]*)+"
)
# A text answer keeps its hedges ("about 12 people"); only a leading acknowledgement goes.
_ACKNOWLEDGEMENT = _rule(r"^(?:(?:sure|ok|okay|well|so|um+|uh+|hmm+|yeah|yep|oh)\b[\s,:.!-]*)+")
# Not an answer, whatever was asked: a shrug or a refusal.
_NON_ANSWER = _rule(
    r"\b(?:not sure|unsure|no idea|don't know|dont know|do not know|dunno|rather not|prefer not|"
    r"(?:don't|do not) want to (?:say|share|give)|none of your|not telling|just (?:browsing|looking|exploring)|"
    r"not yet decided|undecided|haven't decided)\b"
    r"|^(?:n/?a|none|nothing|no|nope|skip|pass|idk|later)\W*$"
)
# Working on one's own is an answer to "what company?", but not a company name.
_NO_COMPANY = _rule(r"\b(?:just me|self[- ]employed|freelancer|freelance|no company|on my own|independent)\b")
_DESCRIBED = _rule(r"^(?:a|an|the|my|our)\s[^,]{0,40},\s*(?P<name>\S.*)$")
_DESCRIPTION = _rule(r"^(?:a|an|the|my|our|some)\s+(?-i:[a-z])")
_BARE_CUT = re.compile(r"[,;!?\n]| - ")
_MAX_COMPANY_WORDS = 6
_SEARCHED_KINDS: frozenset[FieldKind] = frozenset({"email", "phone", "budget", "timeline"})


def _finders(message: str, region: str, name_awaited: bool) -> dict[FieldKind, Callable[[], str | None]]:
    # Misspelt cue words are fixed for the word-driven finders only; addresses are read as written.
    fixed = fix_cue_words(message)
    unspelled = SPELLED_ADDRESS.sub(" ", fixed)
    return {
        "email": lambda: find_email(message),
        "phone": lambda: find_phone(message, region),
        "company": lambda: find_company(unspelled),
        "need": lambda: find_need(fixed),
        "budget": lambda: find_budget(fixed),
        "timeline": lambda: find_timeline(fixed),
        "name": lambda: find_name(unspelled, other_field_awaited=not name_awaited),
    }


def _check(field: QualificationField, raw: str, extraction: Extraction, region: str) -> None:
    try:
        extraction.values[field.name] = validate_field(field.kind, raw, region)
    except FieldInvalid as exc:
        extraction.invalid[field.name] = exc.reason


def _bare_answer(field: QualificationField, message: str, found: Sequence[str]) -> str | None:
    """The message read as a direct answer to the question for `field`, trimmed of small talk.

    When the message also gave other fields ("Acme, and we need a chatbot"), only a capitalised first
    phrase can be a name or company, and a free-text answer is not guessed at.
    """
    if _NON_ANSWER.search(message):
        return None
    if field.kind in _SEARCHED_KINDS:
        return message
    if field.kind == "text":
        return _ACKNOWLEDGEMENT.sub("", message).strip() or message
    answer = _FILLER.sub("", message).strip()
    if field.kind == "company":
        # "a small agency, Red Kite Creative": the name follows the description.
        described = _DESCRIBED.match(answer)
        if described:
            answer = described.group("name")
        elif _DESCRIPTION.match(answer):
            # "a startup", "the hospital": what the business is, not what it is called.
            return None
    if field.kind == "company" and _NO_COMPANY.search(answer):
        return None
    if field.kind in ("company", "name"):
        answer = _BARE_CUT.split(answer, maxsplit=1)[0].strip()
    answer = answer[:500]
    if found and (field.kind not in ("company", "name") or not answer[:1].isupper()):
        return None
    if any(value.lower() in answer.lower() for value in found):
        return None
    if field.kind == "need" and is_not_a_need(answer):
        return None
    if field.kind == "name":
        return bare_name(answer)
    if field.kind == "company" and len(answer.split()) > _MAX_COMPANY_WORDS:
        return None
    return answer or None


def extract_fields(
    text: str, fields: Sequence[QualificationField], awaiting: str | None, phone_region: str = DEFAULT_PHONE_REGION
) -> Extraction:
    """Every configured field found in `text`; valid values in `values`, rejected ones in `invalid`.

    A kind's value goes to the first field of that kind, the awaited field first. When `awaiting` names a
    field the text did not fill, the message is taken as the answer to it, unless it asks something or
    says no answer ("not sure", "I'd rather not say"). Phone numbers without a country code are read in
    `phone_region`.
    """
    message = clean(text)
    extraction = Extraction(values={}, invalid={})
    awaited = next((f for f in fields if f.name == awaiting), None)
    ordered = ([awaited] if awaited else []) + [f for f in fields if f is not awaited]
    finders = _finders(message, phone_region, name_awaited=awaited is None or awaited.kind == "name")
    used_kinds: set[FieldKind] = set()
    found: list[str] = []
    for field in ordered:
        finder = finders.get(field.kind)
        if field.kind in used_kinds or finder is None:
            continue
        raw = finder()
        if raw is not None:
            used_kinds.add(field.kind)
            found.append(raw)
            _check(field, raw, extraction, phone_region)
    if awaited is None or awaited.name in extraction.values or awaited.name in extraction.invalid:
        return extraction
    if message.endswith("?"):
        return extraction
    answer = _bare_answer(awaited, message, found)
    if answer is None:
        return extraction
    if found and awaited.kind in _SEARCHED_KINDS:
        # A message that gave something else ("we can spend 4k" while an email is awaited) answers the
        # question only if a value for it is in there ("around 20k, and next quarter" for the budget);
        # it is not a malformed answer to complain about.
        with suppress(FieldInvalid):
            extraction.values[awaited.name] = validate_field(awaited.kind, answer, phone_region)
        return extraction
    _check(awaited, answer, extraction, phone_region)
    return extraction
