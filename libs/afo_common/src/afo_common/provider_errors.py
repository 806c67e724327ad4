"""How a call to an outside provider (a CRM, a calendar, Twilio) fails, as handlers see it."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call that failed for good: after its retries, or at once when retrying cannot help.

    `status` is the HTTP status of the last answer, `None` when none came (connection refused, timeout).
    `retryable` says whether trying again later may succeed (rate limit, server error, network) — a handler
    naks with a delay then, and dead-letters otherwise. The message never holds the credential.
    """

    def __init__(self, provider: str, status: int | None, reason: str, *, retryable: bool) -> None:
        self.provider = provider
        self.status = status
        self.reason = reason
        self.retryable = retryable
        answer = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{provider}: {answer}: {reason}" + (" (retryable)" if retryable else ""))
