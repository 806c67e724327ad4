"""Validation and normalisation of one value per field kind."""

from __future__ import annotations

import re
from collections.abc import Callable

from afo_agent_runtime.domain.agent import FieldKind
from afo_agent_runtime.domain.engine.budget import normalise_budget
from afo_agent_runtime.domain.engine.contacts import normalise_email, normalise_phone
from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid
from afo_agent_runtime.domain.engine.phone_region import DEFAULT_PHONE_REGION
from afo_agent_runtime.domain.engine.timeline import normalise_timeline

_SPACES = re.compile(r"\s+")
_GENERIC_COMPANY = re.compile(
    r"^(?:company|business|startup|organi[sz]ation|firm|agency|employer|work|job|none|n/a|na|no|yes|idk|"
    r"unknown|nothing|nobody|test|asdf|it|here|there|you|me|myself|self|private|personal|home)$",
    re.IGNORECASE,
)
_ARTICLES = re.compile(r"^(?:a|an|the|my|our)\s+", re.IGNORECASE)


def _collapse(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


def _capitalised_if_lowercase(value: str) -> str:
    # Leads often type in lowercase; a name they typed with capitals ("eBay", "McDonald") is kept as is.
    if value != value.lower():
        return value
    return re.sub(r"(^|[\s-])(\w)", lambda m: m.group(1) + m.group(2).upper(), value)


def _company(value: str) -> str:
    company = _collapse(value).strip(".,;:!?\"'")
    if not company or not any(c.isalnum() for c in company):
        raise FieldInvalid("that does not look like a company name")
    if len(company) > 120:
        raise FieldInvalid("a company name is at most 120 characters")
    if _GENERIC_COMPANY.match(_ARTICLES.sub("", company)):
        raise FieldInvalid("that is a generic word, not the company's name")
    return _capitalised_if_lowercase(company)


def _need(value: str) -> str:
    need = _collapse(value)
    if len(need) < 3 or not any(c.isalpha() for c in need):
        raise FieldInvalid("please say a little more about what you need")
    if len(need) > 500:
        raise FieldInvalid("please keep it under 500 characters")
    return need


def _name(value: str) -> str:
    name = _collapse(value).strip(".,;:!?")
    if not name:
        raise FieldInvalid("it is empty")
    if len(name) > 80:
        raise FieldInvalid("a name is at most 80 characters")
    if not all(c.isalpha() or c in " -'" for c in name) or not any(c.isalpha() for c in name):
        raise FieldInvalid("a name has only letters, spaces, hyphens and apostrophes")
    return _capitalised_if_lowercase(name)


def _text(value: str) -> str:
    text = _collapse(value)
    if not text:
        raise FieldInvalid("it is empty")
    if len(text) > 500:
        raise FieldInvalid("please keep it under 500 characters")
    return text


_VALIDATORS: dict[FieldKind, Callable[[str], str]] = {
    "email": normalise_email,
    "company": _company,
    "need": _need,
    "budget": normalise_budget,
    "timeline": normalise_timeline,
    "name": _name,
    "text": _text,
}


def validate_field(kind: FieldKind, value: str, phone_region: str = DEFAULT_PHONE_REGION) -> str:
    """The normalised value, or FieldInvalid whose message says what is wrong in words a lead understands.

    Budget and timeline values may carry words around the figure ("about 10k"); the others are the value.
    A phone number without a country code is read in `phone_region` (ISO 3166-1 alpha-2) and stored in E.164.
    """
    if kind == "phone":
        return normalise_phone(value, phone_region)
    return _VALIDATORS[kind](value)
