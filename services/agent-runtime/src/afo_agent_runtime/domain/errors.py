"""What can go wrong in agent-runtime's use cases, in the owner's words; entrypoints map these."""

from __future__ import annotations

from typing import Any


class NotFound(Exception):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident} not found")


class Invalid(Exception):
    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


class Conflict(Exception):
    pass
