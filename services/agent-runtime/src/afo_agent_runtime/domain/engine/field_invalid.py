"""The one error a field value can fail with."""

from __future__ import annotations


class FieldInvalid(ValueError):
    """A value the lead gave cannot be used; the message is a reason fit to show the lead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
