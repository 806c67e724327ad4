"""How a lead's phone number or email address is shown where the whole of it is not needed (events that every
integrator of the tenant receives, delivery logs): enough to tell two apart, not enough to reach anyone."""

from __future__ import annotations

HIDDEN = "•"


def phone(number: str) -> str:
    """``+33612345678`` → ``+33•••••5678``: the country code and the last four digits; a number too short to
    keep both is hidden whole."""
    if len(number) <= 7:
        return HIDDEN * len(number)
    return f"{number[:3]}{HIDDEN * (len(number) - 7)}{number[-4:]}"


def email(address: str) -> str:
    """``lee@example.com`` → ``l•••@example.com``; without an ``@`` it is hidden as a phone number would be."""
    local, at, domain = address.partition("@")
    if not at:
        return phone(address)
    return f"{local[:1]}{HIDDEN * 3}@{domain}"
