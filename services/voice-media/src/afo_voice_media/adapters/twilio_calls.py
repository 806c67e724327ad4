"""Phone calls through Twilio's Calls REST API, with HTTP basic auth (account SID, auth token) and form bodies:

- placing one: ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` (``To``, ``From``, ``Url`` Twilio asks for
  the call's TwiML once it is answered, ``StatusCallback`` and its events, ``MachineDetection``); 201 answers
  the call with its ``sid`` (``CA…``);
- changing a live one: ``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` with new ``Twiml``,
  which Twilio runs at once in place of what the call was doing (a transfer's ``<Dial>``).

Rules:
- Each request is made once: a create that timed out may have placed the call, and a second try would ring the
  lead twice; an update repeated would restart its ``<Dial>``. A failure is ``TwilioCallError`` with Twilio's
  own words (``HTTP 400 (Twilio 21211): …``), never the auth token.
- Short timeouts: the create is answered while the API client waits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from afo_common.provider_errors import ProviderError
from afo_common.provider_http import RetryPolicy
from afo_common.twilio_rest import TWILIO_API, failure_reason, twilio_http

ONCE = RetryPolicy(attempts=1, timeout_s=3.0, connect_timeout_s=2.0)


class TwilioCallError(Exception):
    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(reason)
        self.status = status  # None: Twilio did not answer
        self.reason = reason


@dataclass(frozen=True)
class OutboundCall:
    to: str
    sender: str
    twiml_url: str
    status_callback: str
    status_events: tuple[str, ...] = ("initiated", "ringing", "answered", "completed")
    # Twilio answers the call's TwiML request once it knows whether a person or a machine picked up, after a
    # machine's greeting ended (``AnsweredBy`` machine_end_beep…), so a message left is heard whole.
    machine_detection: str = "DetectMessageEnd"


class TwilioCalls:
    def __init__(self, account_sid: str, auth_token: str, *, base_url: str = TWILIO_API,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._sid, self._token = account_sid, auth_token
        self._base_url = base_url.rstrip("/")
        self._transport = transport

    async def place(self, call: OutboundCall) -> str:
        """The new call's SID."""
        # A repeated field is sent once per value (httpx encodes a list so), as Twilio's own library does.
        form: dict[str, Any] = {
            "To": call.to, "From": call.sender, "Url": call.twiml_url, "StatusCallback": call.status_callback,
            "StatusCallbackEvent": list(call.status_events), "MachineDetection": call.machine_detection}
        placed = await self._post(f"/2010-04-01/Accounts/{self._sid}/Calls.json", form)
        sid = placed.get("sid") if isinstance(placed, dict) else None
        if not isinstance(sid, str) or not sid:
            raise TwilioCallError(201, "Twilio answered the call without its sid")
        return sid

    async def run_twiml(self, call_sid: str, twiml: str) -> None:
        await self._post(f"/2010-04-01/Accounts/{self._sid}/Calls/{call_sid}.json", {"Twiml": twiml})

    async def _post(self, path: str, form: dict[str, Any]) -> Any:
        http = twilio_http(self._sid, self._token, base_url=self._base_url, policy=ONCE, transport=self._transport)
        try:
            async with http:
                return await http.request("POST", path, data=form)
        except ProviderError as exc:
            raise TwilioCallError(exc.status, failure_reason(exc)) from None


# The tenant's Twilio fields (account_sid, auth_token) to a client of its account.
TwilioAccount = Callable[[dict[str, str]], TwilioCalls]
