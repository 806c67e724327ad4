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


class AlreadyCreated(Exception):
    """A create carrying a request id met the row an earlier attempt with that id made (they raced)."""

    def __init__(self, kind: str, request_id: str) -> None:
        super().__init__(f"{kind} with request id {request_id} exists")
