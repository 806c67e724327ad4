"""One base for calls to providers' HTTP APIs: httpx with timeouts, retries by tenacity, typed failures.

Rules:
- Retried: 429, any 5xx, and no answer at all (connection refused or reset, timeout). Every other 4xx is final.
- The wait before a retry is `Retry-After` when the answer carries one (seconds, or an HTTP date), capped at
  `RetryPolicy.max_retry_after_s`; otherwise exponential backoff with jitter (`wait_exponential_jitter`).
- After `RetryPolicy.attempts` tries the last failure is raised as `ProviderError(retryable=True)`.
- The credential is redacted from every `ProviderError` reason (and our requests never put it in a URL).
- `request` retries one HTTP request; `retrying` retries a whole step (e.g. search-then-create), which is how
  an adapter keeps a create idempotent: a retry searches again before creating.
- An `Idempotency-Key`, where a provider supports one, is the caller's to pass in `headers`.
- Each try is a client span of the work that made it (``afo_common.telemetry.provider_span``): the provider, the
  method, the host and the status, never the path, the query or a header.
- A failed answer's reason is `METHOD path: <the provider's words>` unless the client was given `describe`
  (its own wording of a failed answer, e.g. Twilio's `HTTP 401 (Twilio 20003): Authenticate`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from afo_common.provider_errors import ProviderError
from afo_common.telemetry import answered, provider_span

__all__ = ["ProviderError", "ProviderHttp", "RetryPolicy", "retry_after_seconds"]

T = TypeVar("T")
Describe = Callable[[str, str, httpx.Response], str]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial_s: float = 0.5
    max_backoff_s: float = 20.0
    jitter_s: float = 0.5
    max_retry_after_s: float = 60.0
    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0


class _Retryable(Exception):
    """One failed try that may succeed later; `retry_after_s` when the provider said how long to wait."""

    def __init__(self, error: ProviderError, retry_after_s: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: a number of seconds, or an HTTP date (past dates give 0)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class _Wait:
    """Retry-After when the last failure carried one, exponential backoff with jitter otherwise."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._backoff = wait_exponential_jitter(
            multiplier=policy.initial_s, max=policy.max_backoff_s, jitter=policy.jitter_s
        )

    def __call__(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _Retryable) and failure.retry_after_s is not None:
            return min(failure.retry_after_s, self._policy.max_retry_after_s)
        return float(self._backoff(state))


class ProviderHttp:
    """An `httpx.AsyncClient` for one provider and one credential; close it with `aclose` (or `async with`)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        secret: str,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: tuple[str, str] | None = None,
        describe: Describe | None = None,
    ) -> None:
        self.provider = provider
        self.policy = policy or RetryPolicy()
        self._secret = secret
        self._describe = describe or _described
        timeout = httpx.Timeout(self.policy.timeout_s, connect=self.policy.connect_timeout_s)
        self._client = httpx.AsyncClient(
            base_url=base_url, headers=dict(headers or {}), timeout=timeout, transport=transport, auth=auth
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ProviderHttp:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def retrying(self, step: Callable[[], Awaitable[T]]) -> T:
        """Run `step` until it succeeds, fails for good, or runs out of attempts; raises `ProviderError`."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=_Wait(self.policy),
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await step()
        except _Retryable as exhausted:
            raise exhausted.error from None
        raise AssertionError("unreachable: tenacity either returns, retries or re-raises")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """One request, retried as the rules say; returns the decoded JSON body (`None` when empty).
        `data` is sent form-encoded (an OAuth token endpoint), `json` as JSON."""
        return await self.retrying(
            lambda: self.attempt(method, path, json=json, params=params, headers=headers, data=data))

    async def attempt(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """One try: the decoded body, or `_Retryable` (for `retrying`), or a final `ProviderError`."""
        try:
            with provider_span(self.provider, method, path if "://" in path else str(self._client.base_url)) as span:
                response = await self._client.request(method, path, json=json, params=params, headers=headers,
                                                      data=data)
                answered(span, response.status_code)
        except httpx.TransportError as exc:
            reason = f"{method} {path}: {type(exc).__name__}: {exc}"
            raise _Retryable(self._error(None, reason, retryable=True), None) from None
        if response.is_success:
            return response.json() if response.content else None
        reason = self._describe(method, path, response)
        if response.status_code == 429 or response.status_code >= 500:
            wait = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
            raise _Retryable(self._error(response.status_code, reason, retryable=True), wait)
        raise self._error(response.status_code, reason, retryable=False)

    def _error(self, status: int | None, reason: str, *, retryable: bool) -> ProviderError:
        if self._secret:
            reason = reason.replace(self._secret, "***")
        return ProviderError(self.provider, status, reason, retryable=retryable)


def _described(method: str, path: str, response: httpx.Response) -> str:
    return f"{method} {path}: {_reason(response)}"


def _reason(response: httpx.Response) -> str:
    """The provider's own words when its error body has them (`message`, `error`, Google's `error.message`),
    else the status phrase. Salesforce answers a list of errors (`[{"message", "errorCode"}]`): the first
    one is taken."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]  # Google: {"error": {"code", "message", "errors": [...]}}
    if isinstance(body, dict):
        for key in ("message", "error", "error_info"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"
