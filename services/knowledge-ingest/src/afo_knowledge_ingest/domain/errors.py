"""What can go wrong in knowledge-ingest's use cases, in the owner's words; ``entrypoints/rpc.py`` maps them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class NotFound(Exception):
    def __init__(self, kind: str, *idents: str) -> None:
        super().__init__(f"{kind} {', '.join(idents)} not found")
        self.idents = list(idents)


class Invalid(Exception):
    def __init__(self, message: str, details: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


class Conflict(Exception):
    pass


class AlreadyCreated(Exception):
    """A create carrying a request id met the row an earlier attempt with that id made (they raced)."""

    def __init__(self, kind: str, request_id: str) -> None:
        super().__init__(f"{kind} with request id {request_id} exists")


class DuplicateDocument(Exception):
    """The same bytes (sha256) were registered in the same knowledge base meanwhile: the unique constraint
    decided, and the caller answers with the document that won."""

    def __init__(self, knowledge_base_id: str, sha256: str) -> None:
        super().__init__(f"a document with sha256 {sha256} exists in {knowledge_base_id}")
        self.sha256 = sha256


class ProviderNotConfigured(Exception):
    """An embedding provider the operator has not configured (no endpoint)."""
