"""What can go wrong in agent-runtime's use cases, in the owner's words; entrypoints map these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afo_agent_runtime.domain.agent_tests import Blocking


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


class TestsBlockPublish(Exception):
    """The agent has tests that failed on its current draft, or were not run on it: publishing needs them to
    pass, or an override."""

    __test__ = False  # not a pytest test class

    def __init__(self, blocking: list[Blocking]) -> None:
        failed = [f"{b.name!r}" for b in blocking if b.reason == "failed"]
        not_run = [f"{b.name!r}" for b in blocking if b.reason == "not_run"]
        parts = ([f"failed: {', '.join(failed)}"] if failed else []) + (
            [f"not run on the current draft: {', '.join(not_run)}"] if not_run else [])
        super().__init__(f"the agent's tests block publishing ({'; '.join(parts)}); run them, or publish with "
                         "override")
        self.blocking = blocking
