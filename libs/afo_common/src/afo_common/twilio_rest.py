"""What every caller of Twilio's REST API needs alike (notifier's Messages, voice-media's Calls): where the API
is, and how its errors read — Twilio answers a JSON body with its own error ``code`` and a ``message`` that says
what was wrong, which is what a tenant needs to see, never the credentials."""

from __future__ import annotations

import httpx

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
