"""Phone numbers as the platform keeps them: E.164, parsed and validated by phonenumbers."""

from __future__ import annotations

import phonenumbers


class NotAPhoneNumber(ValueError):
    pass


def e164(raw: str, region: str | None = None) -> str:
    """``raw`` as E.164 (``+14155550100``); without a leading ``+``, read in ``region`` (none: refused).
    Raises ``NotAPhoneNumber`` for what is not a possible number."""
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise NotAPhoneNumber(f"{raw!r} is not a phone number: {exc}") from exc
    # Possible rather than valid: a number from a range newer than the library's metadata is not refused.
    if not phonenumbers.is_possible_number(parsed):
        raise NotAPhoneNumber(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
