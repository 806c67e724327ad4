"""Validation and normalisation of one value per field kind."""

from __future__ import annotations

import re
from collections.abc import Callable

from afo_agent_runtime.domain.agent import FieldKind
from afo_agent_runtime.domain.engine.budget import normalise_budget
from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid
from afo_agent_runtime.domain.engine.timeline import normalise_timeline

_EMAIL_LOCAL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+")
_DOMAIN_LABEL = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")
_PHONE_CHARS = re.compile(r"\+?[\d\s().\-/]+")
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


def _email(value: str) -> str:
    email = value.strip().rstrip(".,;:!?").strip("<>")
    if email.lower().startswith("mailto:"):
        email = email[len("mailto:") :]
    if not email:
        raise FieldInvalid("it is empty")
    if "@" not in email:
        raise FieldInvalid("it is missing the @ sign")
    if any(c.isspace() for c in email):
        raise FieldInvalid("an email address has no spaces in it")
    if email.count("@") > 1:
        raise FieldInvalid("it has more than one @ sign")
    local, domain = email.split("@")
    if not local:
        raise FieldInvalid("it is missing the part before the @")
    if not domain:
        raise FieldInvalid("it is missing the domain after the @")
    if len(email) > 254 or len(local) > 64:
        raise FieldInvalid("it is longer than an email address can be")
    if not _EMAIL_LOCAL.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise FieldInvalid("the part before the @ has characters an email address cannot have")
    labels = domain.lower().split(".")
    if len(labels) < 2:
        raise FieldInvalid("it looks incomplete, as the domain needs an ending such as .com")
    if not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise FieldInvalid("the domain after the @ is not valid")
    if len(labels[-1]) < 2 or labels[-1].isdigit():
        raise FieldInvalid("the domain ending is not valid")
    return f"{local}@{'.'.join(labels)}"


def _phone(value: str) -> str:
    phone = value.strip()
    if not _PHONE_CHARS.fullmatch(phone):
        raise FieldInvalid("a phone number has only digits, spaces and + ( ) - . characters")
    digits = re.sub(r"\D", "", phone)
    if not 7 <= len(digits) <= 15:
        raise FieldInvalid(f"a phone number has 7 to 15 digits, and that has {len(digits)}")
    if phone.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    # Without a country code the number cannot be made international; keep its digits.
    return digits


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
    "email": _email,
    "phone": _phone,
    "company": _company,
    "need": _need,
    "budget": normalise_budget,
    "timeline": normalise_timeline,
    "name": _name,
    "text": _text,
}


def validate_field(kind: FieldKind, value: str) -> str:
    """The normalised value, or FieldInvalid whose message says what is wrong in words a lead understands.

    Budget and timeline values may carry words around the figure ("about 10k"); the others are the value.
    """
    return _VALIDATORS[kind](value)
