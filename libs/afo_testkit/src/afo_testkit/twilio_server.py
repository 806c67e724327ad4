"""A local stand-in for Twilio's Messages REST API over real HTTP: ``POST /2010-04-01/Accounts/{AccountSid}/
Messages.json`` with HTTP basic auth (account SID, auth token) and a form body ``To``, ``From``, ``Body``.

It answers as Twilio documents: 201 with the message resource (``sid`` ``SM…``, ``status: queued``); 401 with
error 20003 for a wrong credential; 400 with error 21211 for a ``To`` that is not an E.164 number and 21602
for an empty ``Body``; and whatever ``fail_next`` queues (429 with ``Retry-After``, 500…) before doing anything.
Every message accepted is kept in ``messages``, every request in ``requests`` with its arrival time."""

from __future__ import annotations

import base64
import re
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from afo_testkit.local_server import serving

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    message: str
    retry_after: str | None = None


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "twilio-auth-token-secret"
    messages: list[dict[str, str]] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)
    fail_next: list[Failure] = field(default_factory=list)
    port: int = 0
    _serving: Any = None

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

    async def _create(self, request: Request) -> Response:
        self.requests.append(time.monotonic())
        if self.fail_next:
            failure = self.fail_next.pop(0)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            return self._error(failure.status, failure.code, failure.message, headers)
        sid = request.path_params["sid"]
        if not self._authorized(request, sid):
            return self._error(401, 20003, "Authenticate")
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

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create, methods=["POST"])])

    async def __aenter__(self) -> Self:
        self._serving = serving(self.app())
        self.port = await self._serving.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._serving.__aexit__(kind, exc, tb)
