"""On a call, an email address or a phone number the agent heard is read back for the caller to confirm: speech
recognisers get both wrong more often than anything else (no offline engine tested here got a spoken email
right), and a wrong address loses the lead. Spelled so a voice says it unambiguously: the email's name letter by
letter, its domain as words with "dot"; the phone's digits one by one in their national groups."""

from __future__ import annotations

import phonenumbers

_SYMBOLS = {".": "dot", "-": "dash", "_": "underscore", "+": "plus"}


def spoken_email(address: str) -> str:
    local, _, domain = address.partition("@")
    letters = ", ".join(_SYMBOLS.get(ch, ch) for ch in local)
    return f"{letters}, at {' dot '.join(domain.split('.'))}"


def spoken_phone(number: str) -> str:
    """``number`` in E.164; its national format's groups, each digit said on its own."""
    try:
        parsed = phonenumbers.parse(number, None)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = number
    groups = ["".join(ch for ch in group if ch.isdigit()) for group in national.replace("-", " ").split()]
    return ", ".join(" ".join(group) for group in groups if group)
