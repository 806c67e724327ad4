"""Connection tests of stored credentials: one read-only request to the provider with them.

- ``openai``: ``GET {base_url}/models`` with the key as a bearer token (``base_url`` defaults to OpenAI's).
- ``twilio``: ``GET {twilio_base_url}/2010-04-01/Accounts/{account_sid}.json`` with basic auth.
An answer other than 2xx is ``ok: false`` with its status; the provider's body is not passed on (it may
echo what was sent)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from afo_common.telemetry import answered, provider_span
from afo_gateway.handlers.integrations import ProbeResult

OPENAI_BASE_URL = "https://api.openai.com/v1"
TWILIO_BASE_URL = "https://api.twilio.com"


class ProviderProbes:
    def __init__(self, twilio_base_url: str = TWILIO_BASE_URL, timeout_s: float = 10.0) -> None:
        self._twilio = twilio_base_url.rstrip("/")
        self._timeout_s = timeout_s

    def can_probe(self, provider: str) -> bool:
        return provider in ("openai", "twilio")

    async def probe(self, provider: str, fields: dict[str, Any]) -> ProbeResult:
        if provider == "openai":
            base = str(fields.get("base_url") or OPENAI_BASE_URL).rstrip("/")
            request = httpx.Request("GET", f"{base}/models", headers={"Authorization": f"Bearer {fields['api_key']}"})
        elif provider == "twilio":
            url = f"{self._twilio}/2010-04-01/Accounts/{fields['account_sid']}.json"
            basic = base64.b64encode(f"{fields['account_sid']}:{fields['auth_token']}".encode()).decode()
            request = httpx.Request("GET", url, headers={"Authorization": f"Basic {basic}"})
        else:
            raise ValueError(f"no connection test for {provider}")
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False) as client:
                with provider_span(provider, "GET", str(request.url)) as span:
                    response = await client.send(request)
                    answered(span, response.status_code)
        except httpx.HTTPError as exc:
            return ProbeResult(False, f"could not reach {provider}: {type(exc).__name__}")
        if response.is_success:
            return ProbeResult(True)
        reason = "the credentials were refused" if response.status_code in (401, 403) else "the provider refused"
        return ProbeResult(False, reason, response.status_code)
