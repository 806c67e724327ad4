"""SMS through Twilio's Messages REST API: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP
basic auth (account SID, auth token) and a form body ``To``, ``From``, ``Body``; 201 answers the message with
its ``sid``.

Rules:
- 429 and 5xx are retried (``Retry-After`` seconds honoured, capped), as is no answer at all; every other 4xx
  is final, its reason Twilio's error JSON (``code``, ``message``).
- The auth token never appears in an error."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from afo_notifier.domain.channels import SendError

TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class TwilioRetry:
    attempts: int = 3
    backoff_s: float = 0.5
    max_retry_after_s: float = 10.0
    timeout_s: float = 10.0


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict) and "message" in data:
        return f"HTTP {response.status_code} (Twilio {data.get('code')}): {data['message']}"
    return f"HTTP {response.status_code}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


class TwilioMessages:
    def __init__(self, account_sid: str, auth_token: str, from_number: str, *, base_url: str = TWILIO_API,
                 retry: TwilioRetry | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._sid, self._token, self._from = account_sid, auth_token, from_number
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._retry = retry or TwilioRetry()
        self._transport = transport

    async def send(self, to: str, body: str, *, sender: str | None = None, status_callback: str | None = None) -> str:
        """The message's SID. ``sender``: the number it goes from instead of the account's ``from_number`` (an
        agent's, for its replies); ``status_callback``: where Twilio reports its delivery (``StatusCallback``)."""
        form = {"To": to, "From": sender or self._from, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        retry = self._retry
        async with httpx.AsyncClient(timeout=retry.timeout_s, transport=self._transport) as client:
            for attempt in range(1, retry.attempts + 1):
                wait = retry.backoff_s * 2 ** (attempt - 1)
                try:
                    response = await client.post(self._url, auth=(self._sid, self._token),
                                                 data=form)
                except httpx.TransportError as exc:
                    error = SendError("twilio", None, f"no answer: {type(exc).__name__}")
                else:
                    if response.status_code in (200, 201):
                        sid = response.json().get("sid")
                        return str(sid) if sid else ""
                    error = SendError("twilio", response.status_code, _reason(response))
                    if response.status_code != 429 and response.status_code < 500:
                        raise error
                    after = _retry_after(response)
                    if after is not None:
                        wait = min(after, retry.max_retry_after_s)
                if attempt == retry.attempts:
                    raise error
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")
