"""A local stand-in for Twilio's Messages and Calls REST APIs over real HTTP, with HTTP basic auth (account SID,
auth token) and form bodies:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (``To``, ``From``, ``Body``): 201 with the message
  resource (``sid`` ``SM…``, ``status: queued``); 400 with error 21211 for a ``To`` that is not an E.164 number
  and 21602 for an empty ``Body``.
- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` (``To``, ``From``, ``Url`` or ``Twiml``,
  ``StatusCallback``, ``StatusCallbackEvent`` repeated, ``MachineDetection``…): 201 with the call resource
  (``sid`` ``CA…``, ``status: queued``, ``direction: outbound-api``); 400 with 21211 for a bad ``To`` and 21205
  without ``Url`` or ``Twiml``.
- ``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` (``Twiml``, ``Url`` or ``Status``): 200 with
  the call; 404 with error 20404 for a call it never placed.

Every one answers 401 with error 20003 for a wrong credential, and whatever ``fail_next`` queues (429 with
``Retry-After``, 500…) before doing anything. Messages accepted are kept in ``messages``, calls placed in
``calls`` (their request forms in ``placed``, a repeated field's values joined by spaces), call updates in
``updates``, and every request's arrival time in ``requests``."""

from __future__ import annotations

import base64
import re
import time
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from afo_testkit.local_server import LocalStandIn

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    message: str
    retry_after: str | None = None


@dataclass
class FakeTwilio(LocalStandIn):
    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "twilio-auth-token-secret"
    messages: list[dict[str, str]] = field(default_factory=list)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    placed: list[dict[str, str]] = field(default_factory=list)
    updates: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)
    fail_next: list[Failure] = field(default_factory=list)
    port: int = 0
    _serving: AbstractAsyncContextManager[int] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _error(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"code": code, "message": message,
                             "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
                            status, headers=headers)

    def _authorized(self, request: Request, sid: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return sid == self.account_sid and request.headers.get("authorization") == f"Basic {expected}"

    def _refused(self, request: Request) -> Response | None:
        """A queued failure, or 401 for a wrong credential; None when the request may go on."""
        self.requests.append(time.monotonic())
        if self.fail_next:
            failure = self.fail_next.pop(0)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            return self._error(failure.status, failure.code, failure.message, headers)
        if not self._authorized(request, request.path_params["sid"]):
            return self._error(401, 20003, "Authenticate")
        return None

    async def _create(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        sid = request.path_params["sid"]
        form = await request.form()
        to, sender, body = (str(form.get(name) or "") for name in ("To", "From", "Body"))
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        message = {"sid": "SM" + uuid.uuid4().hex, "account_sid": sid, "to": to, "from": sender, "body": body,
                   "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01"}
        if callback := form.get("StatusCallback"):
            message["status_callback"] = str(callback)
        self.messages.append(message)
        return JSONResponse(message, 201)

    async def _place_call(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        sid = request.path_params["sid"]
        form = await request.form()
        fields = {name: " ".join(str(v) for v in form.getlist(name)) for name in form}
        to = fields.get("To", "")
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not fields.get("Url") and not fields.get("Twiml"):
            return self._error(400, 21205, "Url parameter is required.")
        call_sid = "CA" + uuid.uuid4().hex
        call: dict[str, Any] = {
            "sid": call_sid, "account_sid": sid, "to": to, "from": fields.get("From", ""), "status": "queued",
            "direction": "outbound-api", "api_version": "2010-04-01", "answered_by": None, "parent_call_sid": None,
            "uri": f"/2010-04-01/Accounts/{sid}/Calls/{call_sid}.json"}
        self.placed.append(fields)
        self.calls[call_sid] = call
        return JSONResponse(call, 201)

    async def _update_call(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        call = self.calls.get(request.path_params["call_sid"])
        if call is None or call["account_sid"] != request.path_params["sid"]:
            return self._error(404, 20404, f"The requested resource {request.url.path} was not found")
        form = await request.form()
        fields = {name: str(form.get(name)) for name in form}
        if fields.get("Status") in ("canceled", "completed"):
            call["status"] = fields["Status"]
        self.updates.append((call["sid"], fields))
        return JSONResponse(call, 200)

    def app(self) -> Starlette:
        base = "/2010-04-01/Accounts/{sid}"
        return Starlette(routes=[Route(f"{base}/Messages.json", self._create, methods=["POST"]),
                                 Route(f"{base}/Calls.json", self._place_call, methods=["POST"]),
                                 Route(f"{base}/Calls/{{call_sid}}.json", self._update_call, methods=["POST"])])
