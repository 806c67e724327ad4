"""What every caller of Twilio's REST API needs alike (notifier's Messages, voice-media's Calls): where the API
is, a client of one account (HTTP basic auth with its SID and auth token), and how its errors read — Twilio
answers a JSON body with its own error ``code`` and a ``message`` that says what was wrong, which is what a
tenant needs to see, never the credentials."""

from __future__ import annotations

import httpx

from afo_common.provider_errors import ProviderError
from afo_common.provider_http import ProviderHttp, RetryPolicy

TWILIO_API = "https://api.twilio.com"


def twilio_error(_method: str, _path: str, response: httpx.Response) -> str:
    """``ProviderHttp``'s ``describe`` for Twilio: its status, error code and message."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict) and "message" in data:
        return f"HTTP {response.status_code} (Twilio {data.get('code')}): {data['message']}"
    return f"HTTP {response.status_code}"


def twilio_http(account_sid: str, auth_token: str, *, base_url: str, policy: RetryPolicy,
                transport: httpx.AsyncBaseTransport | None = None) -> ProviderHttp:
    """A client of the account's REST API (use it in ``async with``); the auth token is redacted from its errors."""
    return ProviderHttp("twilio", base_url, secret=auth_token, policy=policy, transport=transport,
                        auth=(account_sid, auth_token), describe=twilio_error)


def failure_reason(error: ProviderError) -> str:
    """What a tenant reads of a request that failed: Twilio's own words, or that it did not answer and why."""
    return error.reason if error.status is not None else f"no answer: {error.reason.split(': ', 1)[-1]}"
