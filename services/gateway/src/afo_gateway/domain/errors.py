"""The gateway's domain errors; the HTTP edge maps each to one problem+json status."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class ApiProblem(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    @property
    def headers(self) -> dict[str, str]:
        return {}

    @property
    def extensions(self) -> dict[str, Any]:
        """Members of the problem beyond RFC 9457's (a limit, the accepted types) for a client to act on."""
        return {}


class _RetryLater(ApiProblem):
    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Unauthorized(ApiProblem):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(ApiProblem):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(ApiProblem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ApiProblem):
    status, slug, title = 409, "conflict", "Conflict"


class RoleReserved(Forbidden):
    """A tenant tried to make someone an operator: the role is the platform's (``afo operator add``)."""

    slug, title = "role-reserved", "This role is not a tenant's to grant"


class DeadLetterSettled(Conflict):
    """A dead letter already replayed is not discarded, nor a discarded one replayed; nor is one replayed
    that has no event to send (its message had left its stream before it was dead-lettered)."""

    slug, title = "dead-letter-settled", "This dead letter cannot be acted on so"


class AgentTestsFailing(ApiProblem):
    """Publishing refused: the agent's tests failed on its current draft, or were not run on it."""

    status, slug, title = 409, "agent-tests-failing", "The agent's tests block publishing"

    def __init__(self, detail: str, failing: list[dict[str, str]]) -> None:
        super().__init__(detail, [{"loc": ["tests", t["id"]], "msg": t["name"], "type": f"test_{t['reason']}"}
                                  for t in failing])
        self.failing = failing

    @property
    def extensions(self) -> dict[str, Any]:
        return {"failing_tests": self.failing}


class IdempotencyInProgress(_RetryLater):
    status, slug, title = 409, "idempotency-in-progress", "A request with this Idempotency-Key is in progress"


class TooManyRequests(_RetryLater):
    status, slug, title = 429, "rate-limited", "Too many requests"


class PlanLimitReached(ApiProblem):
    """The tenant's plan allows it to keep no more of something (agents, stored document bytes): 402, since waiting
    changes nothing — a bigger plan or a deletion does."""

    status, slug, title = 402, "plan-limit-reached", "The plan allows no more"

    def __init__(self, *, limit: str, allowed: int, used: int, plan: str) -> None:
        super().__init__(f"the {plan} plan allows {allowed} for {limit.replace('_', ' ')}; {used} in use")
        self.limit, self.allowed, self.used, self.plan = limit, allowed, used, plan

    @property
    def extensions(self) -> dict[str, Any]:
        return {"limit": self.limit, "allowed": self.allowed, "used": self.used, "plan": self.plan}


class QuotaExceeded(_RetryLater):
    """The tenant used what its plan allows for now (a month's messages or voice minutes, its calls at once, its
    requests per minute): 429 with when to come back."""

    status, slug, title = 429, "quota-exceeded", "The plan's allowance is used up for now"

    def __init__(self, *, limit: str, allowed: int, used: int, plan: str, retry_after_s: int,
                 resets_at: datetime | None = None) -> None:
        super().__init__(f"the {plan} plan allows {allowed} for {limit.replace('_', ' ')}; {used} used",
                         retry_after_s)
        self.limit, self.allowed, self.used, self.plan, self.resets_at = limit, allowed, used, plan, resets_at

    @property
    def extensions(self) -> dict[str, Any]:
        return {"limit": self.limit, "allowed": self.allowed, "used": self.used, "plan": self.plan,
                "resets_at": self.resets_at.isoformat() if self.resets_at else None}


class Invalid(ApiProblem):
    status, slug, title = 422, "validation-error", "Invalid request"


class Unavailable(ApiProblem):
    status, slug, title = 503, "unavailable", "Service unavailable"


class UpstreamTimeout(ApiProblem):
    status, slug, title = 504, "timeout", "Timed out"


class UpstreamFailure(ApiProblem):
    status, slug, title = 502, "upstream-failure", "A platform service failed"


class DocumentTooLarge(ApiProblem):
    status, slug, title = 413, "document-too-large", "Document too large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the document is larger than the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes

    @property
    def extensions(self) -> dict[str, Any]:
        return {"max_bytes": self.max_bytes}


class UnsupportedMediaType(ApiProblem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"

    def __init__(self, detail: str, accepted: tuple[str, ...]) -> None:
        super().__init__(detail)
        self.accepted = accepted

    @property
    def extensions(self) -> dict[str, Any]:
        return {"accepted": list(self.accepted)}


class UrlNotAllowed(ApiProblem):
    status, slug, title = 422, "url-not-allowed", "URL not allowed"


class UrlUnreachable(ApiProblem):
    status, slug, title = 422, "url-unreachable", "URL unreachable"


class VaultUnavailable(ApiProblem):
    status, slug, title = 503, "vault-unavailable", "The credential vault is not configured"


class VaultLocked(ApiProblem):
    status, slug, title = 500, "vault-locked", "Stored credentials cannot be decrypted"


class NoConnectionTest(ApiProblem):
    status, slug, title = 501, "test-not-available", "No connection test for this provider"


class OAuthStateInvalid(ApiProblem):
    status, slug, title = 400, "invalid-oauth-state", "The connection link is not valid"


class OAuthRefused(ApiProblem):
    status, slug, title = 400, "oauth-refused", "The provider's consent was not given"


class OAuthNotConfigured(ApiProblem):
    status, slug, title = 409, "oauth-client-missing", "No OAuth client is configured"


class ProviderFailed(ApiProblem):
    status, slug, title = 502, "provider-error", "The provider failed"
