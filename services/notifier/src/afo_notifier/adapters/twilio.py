"""SMS through Twilio's Messages REST API: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP
basic auth (account SID, auth token) and a form body ``To``, ``From``, ``Body`` (``StatusCallback`` when delivery
reports are wanted); 201 answers the message with its ``sid``.

Rules (``afo_common.provider_http``, shared with workflow-executor's providers):
- 429 and 5xx are retried (``Retry-After`` honoured, capped), as is no answer at all; every other 4xx is final,
  its reason Twilio's error JSON: ``HTTP <status> (Twilio <code>): <message>``.
- The auth token never appears in an error."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from afo_common.provider_errors import ProviderError
from afo_common.provider_http import RetryPolicy
from afo_common.twilio_rest import TWILIO_API, failure_reason, twilio_http
from afo_notifier.domain.channels import SendError


@dataclass(frozen=True)
class TwilioRetry:
    attempts: int = 3
    backoff_s: float = 0.5
    max_retry_after_s: float = 10.0
    timeout_s: float = 10.0

    def policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.attempts, initial_s=self.backoff_s, jitter_s=self.backoff_s,
                           max_retry_after_s=self.max_retry_after_s, timeout_s=self.timeout_s)


class TwilioMessages:
    def __init__(self, account_sid: str, auth_token: str, from_number: str, *, base_url: str = TWILIO_API,
                 retry: TwilioRetry | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._sid, self._token, self._from = account_sid, auth_token, from_number
        self._base_url = base_url.rstrip("/")
        self._path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._retry = retry or TwilioRetry()
        self._transport = transport

    async def send(self, to: str, body: str, *, sender: str | None = None, status_callback: str | None = None) -> str:
        """The message's SID. ``sender``: the number it goes from instead of the account's ``from_number`` (an
        agent's, for its replies); ``status_callback``: where Twilio reports its delivery (``StatusCallback``)."""
        form = {"To": to, "From": sender or self._from, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        http = twilio_http(self._sid, self._token, base_url=self._base_url, policy=self._retry.policy(),
                           transport=self._transport)
        try:
            async with http:
                message = await http.request("POST", self._path, data=form)
        except ProviderError as exc:
            raise SendError("twilio", exc.status, failure_reason(exc)) from None
        sid = message.get("sid") if isinstance(message, dict) else None
        return str(sid) if sid else ""
