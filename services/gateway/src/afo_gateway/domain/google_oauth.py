"""Connecting a tenant's Google Calendar with OAuth 2.0 (authorization code, web server flow).

1. ``GET /v1/integrations/google/connect`` (an owner or admin) answers Google's consent URL: the OAuth client
   (the tenant's own, stored in its ``google`` record, else the platform's ``AFO_GOOGLE_CLIENT_ID`` /
   ``AFO_GOOGLE_CLIENT_SECRET``), scope ``https://www.googleapis.com/auth/calendar``, ``access_type=offline`` and
   ``prompt=consent`` (so Google issues a refresh token every time), and a ``state``.
2. Google sends the browser back to ``GET /v1/integrations/google/callback?code&state``; the gateway exchanges
   the code at Google's token endpoint and stores the tokens in the tenant's ``google`` record, sealed like
   every vault record, and emits integration.connected.

The ``state`` is 256 random bits, stored only as a digest with the tenant, the user who started and an expiry
(10 minutes): it binds the callback to that tenant, cannot be forged without the database, and is deleted by
the first callback that shows it, so it works once, on whichever replica the callback reaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

CONSENT_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_OAUTH = "https://oauth2.googleapis.com"
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
STATE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str


def consent_url(client: OAuthClient, redirect_uri: str, state: str, consent_base: str = CONSENT_URL) -> str:
    query = {"client_id": client.client_id, "redirect_uri": redirect_uri, "response_type": "code",
             "scope": CALENDAR_SCOPE, "access_type": "offline", "prompt": "consent",
             "include_granted_scopes": "true", "state": state}
    return f"{consent_base}?{urlencode(query)}"


def connected_fields(existing: dict[str, Any], client: OAuthClient, tokens: dict[str, Any], now: datetime
                     ) -> dict[str, Any]:
    """The ``google`` record after a consent: the client the tokens belong to, the tokens, when the access
    token expires; the tenant's other settings (``calendar_id``) kept. Without a new refresh token (Google
    sends one with ``prompt=consent``) the stored one is kept, if any."""
    fields = {**existing, "client_id": client.client_id, "client_secret": client.client_secret,
              "access_token": str(tokens["access_token"]),
              "expires_at": (now + timedelta(seconds=int(tokens.get("expires_in", 3600)))).isoformat()}
    if tokens.get("refresh_token"):
        fields["refresh_token"] = str(tokens["refresh_token"])
    return fields


def grants_calendar(tokens: dict[str, Any]) -> bool:
    """Google lets the user untick scopes: the answer's ``scope`` says what was granted."""
    return CALENDAR_SCOPE in str(tokens.get("scope", "")).split()
