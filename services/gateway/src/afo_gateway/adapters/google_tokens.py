"""Google's OAuth token endpoint, for the authorization-code exchange of a connect
(``POST {oauth_base}/token``, form-encoded ``code``, ``client_id``, ``client_secret``, ``redirect_uri``,
``grant_type=authorization_code``). A refusal or no answer is ``ProviderFailed`` (502) naming Google's error
code only: its body is not passed on, and no secret is in the message."""

from __future__ import annotations

from typing import Any

import httpx

from afo_common.telemetry import answered, provider_span
from afo_gateway.domain.errors import ProviderFailed
from afo_gateway.domain.google_oauth import GOOGLE_OAUTH, OAuthClient


class GoogleTokens:
    def __init__(self, oauth_base: str = GOOGLE_OAUTH, timeout_s: float = 10.0) -> None:
        self._url = oauth_base.rstrip("/") + "/token"
        self._timeout_s = timeout_s

    async def exchange(self, client: OAuthClient, code: str, redirect_uri: str) -> dict[str, Any]:
        form = {"code": code, "client_id": client.client_id, "client_secret": client.client_secret,
                "redirect_uri": redirect_uri, "grant_type": "authorization_code"}
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False) as http:
                with provider_span("google", "POST", self._url) as span:
                    response = await http.post(self._url, data=form)
                    answered(span, response.status_code)
        except httpx.HTTPError as exc:
            raise ProviderFailed(f"could not reach Google's token endpoint: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.is_success or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
            raise ProviderFailed(f"Google refused the authorization code (HTTP {response.status_code}"
                                 + (f", {error[:60]})" if error else ")"))
        return body
