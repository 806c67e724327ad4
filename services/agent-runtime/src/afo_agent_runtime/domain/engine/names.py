"""The lead's own name in what they write.

Rules, strongest first; each names where a name may stand, and the name is the one to three name-like
words there (words.name_like: capitalised when the lead types with capitals, never a common word):
- a claim: "my name is Dana", "name's Kofi", "I go by Sam", "you can call me Liz";
- an introduction: "I'm Dana", "this is jenna from …", "it's Tom" (not while another field is awaited:
  "it's Acme" then answers that question);
- "<name> here" opening a clause: "Tom here", "hey, rachel here from …";
- "<name> from|with|at …" opening the message: "Mike with Apex Roofing";
- a sign-off ending the message: "Thanks! - Priya", "Cheers, Oliver", "Regards, Helen Park";
- a signature opening the message: "Karen Wu, Head of CX at …" (two capitalised words, then a capital).
A title before the name (Dr, Ms, …) is dropped.
"""

from __future__ import annotations

import re

from afo_agent_runtime.domain.engine.words import is_cased, name_like, word_set

_TITLE = re.compile(r"^(?:dr|mr|mrs|ms|miss|mx|prof|sir|madam)\.?$", re.IGNORECASE)
_AFTER_NAME = re.compile(r"^(?:$|[,.!?;:)(-]|\s+(?:from|at|with|here|and|of|by|-|—|in)\b)", re.IGNORECASE)
_NAME_WORDS = r"(?P<value>[^\W\d_][\w'.-]*(?: [^\W\d_][\w'-]*){0,3})"
_CLAIM = re.compile(
    r"\b(?:my name is|my name's|name's|names|name is|name:|first name is|full name is|i go by|call me)\s+"
    + _NAME_WORDS,
    re.IGNORECASE,
)
_INTRO = re.compile(r"\b(?:i'm|i am|im)\s+" + _NAME_WORDS, re.IGNORECASE)
_WEAK_INTRO = re.compile(r"\b(?:this is|it's|it is)\s+" + _NAME_WORDS, re.IGNORECASE)
_HERE = re.compile(
    r"(?:^|[,.!?;-]\s*|\b(?:hi|hey|hello)\s+)(?P<value>[^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*)?) here\b",
    re.IGNORECASE,
)
_OPENING = re.compile(
    r"^(?:(?:hi|hey|hello)[,!]?\s+)?(?P<value>[^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*)?),? (?:from|with|at)\s",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"(?:(?:^|[.!?,]\s*)(?:thanks|thank you|thx|cheers|regards|best|best regards|kind regards|sincerely|signed)\b"
    r"[^.?!,]{0,30}?[,!.]*\s*[-—~]?"
    r"|(?:^|[.!?]\s*|\s)[-—~])\s*(?P<value>[^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*){0,2})\s*[.!]*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(?P<value>[A-Z][\w'-]+ [A-Z][\w'-]+), (?=[A-Z])")
# A second word like these makes "Harbor Dental, Boston" a business, not a person.
_BUSINESS_WORDS = word_set(
    """
    agency associates bakery brands builders cafe clinic co company consulting corp creative dental design
    digital energy events fitness foods group health hospital hotels inc industries insurance labs law legal
    llc logistics ltd media partners pharmacy plumbing practice properties realty restaurant roofing salon
    school schools services solar solutions studio systems tech technologies therapy tutoring ventures
    """
)


def _name_at(match: re.Match[str], cased: bool, text: str) -> str | None:
    words: list[str] = []
    for word in match.group("value").split():
        if not words and _TITLE.match(word):
            continue
        if not name_like(word.rstrip("."), cased):
            break
        words.append(word.rstrip("."))
    if not words:
        return None
    # The name must end at a boundary (the end, punctuation, "from", "here", …): in "this is Acme calling"
    # or "I'm Dana's assistant" the words run on into a phrase, and no name is taken from it.
    consumed = match.group("value").split()[: len(words) + _titles(match.group("value"))]
    end = match.start("value") + len(" ".join(consumed))
    if not _AFTER_NAME.match(text[end:]):
        return None
    return " ".join(words)


def _titles(value: str) -> int:
    first = value.split()[0]
    return 1 if _TITLE.match(first) else 0


def find_name(text: str, *, other_field_awaited: bool = False) -> str | None:
    cased = is_cased(text)
    rules = [_CLAIM, _INTRO] + ([] if other_field_awaited else [_WEAK_INTRO]) + [_HERE, _OPENING, _SIGN_OFF]
    for rule in rules:
        for match in rule.finditer(text):
            name = _name_at(match, cased, text)
            if name:
                return name
    signature = _SIGNATURE.match(text)
    if signature and signature.group("value").split()[1].lower() not in _BUSINESS_WORDS:
        return signature.group("value")
    return None


def bare_name(answer: str) -> str | None:
    """The answer to "what's your name?" when it is one to four name-like words, titles dropped."""
    words = [w.rstrip(".") for w in answer.split()]
    if words and _TITLE.match(words[0]):
        words = words[1:]
    cased = is_cased(answer)
    if 1 <= len(words) <= 4 and all(name_like(w, cased) or w.lower() in ("de", "van", "von", "da") for w in words):
        return " ".join(words)
    return None
