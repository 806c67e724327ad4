"""Local stand-ins for Google Calendar v3 (with Google's OAuth token endpoint) and Calendly API v2, speaking
their documented JSON over real HTTP, with their state in memory for tests to read and set.

`FakeGoogle` serves on one port what Google serves on two hosts: ``POST /token`` (oauth2.googleapis.com:
``refresh_token`` and ``authorization_code`` grants, form-encoded, access tokens that expire) and
``/calendar/v3/...`` (www.googleapis.com: freeBusy over at most 90 days, events insert/get/delete). A call
with a missing, unknown or expired access token gets Google's 401. An event id must follow Google's rule
(base32hex: ``a-v`` and ``0-9``, 5 to 1024 characters); a second insert with a known id gets 409
``duplicate``; a deleted event stays readable with ``status: cancelled`` and a second delete gets 410.

`FakeCalendly` checks a personal access token (``Authorization: Bearer``) and serves ``/users/me``,
``/event_types``, ``/user_busy_times`` (a range of at most 7 days, starting no earlier than now, as Calendly
requires), ``/scheduling_links`` and ``/scheduled_events/{uuid}`` with its cancellation.

Both record every request and take scripted failures (`fail_next`) like the CRM stand-ins."""

from __future__ import annotations

import itertools
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from afo_testkit.crm_servers import _StandIn

GOOGLE_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
CALENDLY_API = "https://api.calendly.com"
TOKEN_PATH = "/token"
FREE_BUSY_MAX = timedelta(days=90)  # longer freeBusy ranges are refused


def _parse(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return when.astimezone(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _overlapping(busy: list[tuple[datetime, datetime]], start: datetime, end: datetime
                 ) -> list[tuple[datetime, datetime]]:
    return sorted((max(s, start), min(e, end)) for s, e in busy if s < end and start < e)


@dataclass
class FakeGoogle(_StandIn):
    """`secret` is the refresh token the stand-in honours; `client_id` / `client_secret` the OAuth client.
    `busy` holds what freeBusy reports per calendar besides the events inserted here."""

    client_id: str = "afo-test.apps.googleusercontent.com"
    client_secret: str = "GOCSPX-test-client-secret"
    token_lifetime_s: int = 3599
    access_tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (time.time())
    codes: dict[str, str] = field(default_factory=dict)  # authorization code → redirect_uri
    busy: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    events: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # calendar → id → event
    token_grants: list[str] = field(default_factory=list)  # grant_type of every accepted token request
    send_updates: dict[str, str | None] = field(default_factory=dict)  # event id → its insert's sendUpdates

    def issue_access_token(self, lifetime_s: float | None = None) -> str:
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[token] = time.time() + (self.token_lifetime_s if lifetime_s is None else lifetime_s)
        return token

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working now (Google's answer is then 401)."""
        self.access_tokens = {token: 0.0 for token in self.access_tokens}

    def authorize(self, redirect_uri: str) -> str:
        """What Google's consent page does when the user agrees: a single-use code for `redirect_uri`."""
        code = "4/0A" + secrets.token_urlsafe(20)
        self.codes[code] = redirect_uri
        return code

    def _authorized(self, request: Request) -> bool:
        if request.url.path == TOKEN_PATH:
            return True  # the token endpoint checks the client itself
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        return self.access_tokens.get(token, 0.0) > time.time()

    def _error(self, status: int, message: str) -> Response:
        reasons = {401: "authError", 404: "notFound", 409: "duplicate", 410: "deleted", 429: "rateLimitExceeded"}
        status_names = {401: "UNAUTHENTICATED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED"}
        error = {"code": status, "message": message,
                 "errors": [{"domain": "global", "reason": reasons.get(status, "backendError"), "message": message}]}
        if status in status_names:
            error["status"] = status_names[status]
        return JSONResponse({"error": error}, status)

    @staticmethod
    def _oauth_error(status: int, error: str, description: str) -> Response:
        return JSONResponse({"error": error, "error_description": description}, status)

    def app(self) -> Starlette:
        events = "/calendar/v3/calendars/{calendar_id}/events"
        return Starlette(routes=[
            Route(TOKEN_PATH, self._wrap(self._token), methods=["POST"]),
            Route("/calendar/v3/freeBusy", self._wrap(self._free_busy), methods=["POST"]),
            Route(events, self._wrap(self._insert), methods=["POST"]),
            Route(events + "/{event_id}", self._wrap(self._get), methods=["GET"]),
            Route(events + "/{event_id}", self._wrap(self._delete), methods=["DELETE"]),
        ])

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return self._oauth_error(401, "invalid_client", "Unauthorized")
        grant = form.get("grant_type")
        answer: dict[str, Any] = {"scope": "https://www.googleapis.com/auth/calendar", "token_type": "Bearer"}
        if grant == "refresh_token":
            if form.get("refresh_token") != self.secret:
                return self._oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        elif grant == "authorization_code":
            code = str(form.get("code", ""))
            if self.codes.get(code) is None or self.codes[code] != form.get("redirect_uri"):
                return self._oauth_error(400, "invalid_grant", "Malformed auth code.")
            del self.codes[code]
            answer["refresh_token"] = self.secret
        else:
            return self._oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        self.token_grants.append(str(grant))
        return JSONResponse({**answer, "access_token": self.issue_access_token(), "expires_in": self.token_lifetime_s})

    async def _free_busy(self, request: Request) -> Response:
        body = await request.json()
        try:
            start, end = _parse(body["timeMin"]), _parse(body["timeMax"])
        except (KeyError, ValueError):
            return self._error(400, "Bad Request")
        if end <= start:
            return self._error(400, "The specified time range is empty.")
        if end - start > FREE_BUSY_MAX:
            return self._error(400, "The requested time range is too long.")
        calendars: dict[str, Any] = {}
        for item in body.get("items", []):
            calendar_id = item["id"]
            if calendar_id not in self.busy and calendar_id not in self.events:
                calendars[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            held = list(self.busy.get(calendar_id, []))
            held += [(_parse(e["start"]["dateTime"]), _parse(e["end"]["dateTime"]))
                     for e in self.events.get(calendar_id, {}).values() if e["status"] == "confirmed"]
            calendars[calendar_id] = {"busy": [{"start": _iso(s), "end": _iso(e)}
                                               for s, e in _overlapping(held, start, end)]}
        return JSONResponse({"kind": "calendar#freeBusy", "timeMin": _iso(start), "timeMax": _iso(end),
                             "calendars": calendars})

    async def _insert(self, request: Request) -> Response:
        calendar_id = request.path_params["calendar_id"]
        body: dict[str, Any] = await request.json()
        event_id = body.get("id") or uuid.uuid4().hex
        if not GOOGLE_EVENT_ID.match(event_id):
            return self._error(400, "Invalid resource id value.")
        if "dateTime" not in body.get("start", {}) or "dateTime" not in body.get("end", {}):
            return self._error(400, "Missing time zone definition for start time.")
        calendar = self.events.setdefault(calendar_id, {})
        if event_id in calendar:
            return self._error(409, "The requested identifier already exists.")
        now = _iso(datetime.now(UTC))
        calendar[event_id] = {
            **body, "kind": "calendar#event", "id": event_id, "status": "confirmed", "created": now, "updated": now,
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        }
        self.send_updates[event_id] = request.query_params.get("sendUpdates")
        return JSONResponse(calendar[event_id])

    def _event(self, request: Request) -> dict[str, Any] | None:
        return self.events.get(request.path_params["calendar_id"], {}).get(request.path_params["event_id"])

    async def _get(self, request: Request) -> Response:
        event = self._event(request)
        return self._error(404, "Not Found") if event is None else JSONResponse(event)

    async def _delete(self, request: Request) -> Response:
        event = self._event(request)
        if event is None:
            return self._error(404, "Not Found")
        if event["status"] == "cancelled":
            return self._error(410, "Resource has been deleted")
        event["status"] = "cancelled"
        return Response(status_code=204)


@dataclass
class FakeCalendly(_StandIn):
    """`secret` is the personal access token. `busy` holds the user's busy times (from Calendly events and
    connected calendars); `scheduled_events` the events booked through it, by uuid."""

    user_uuid: str = "AAAAAAAAAAAAAAAA"
    event_types: list[dict[str, Any]] = field(default_factory=list)
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)
    scheduling_links: list[dict[str, Any]] = field(default_factory=list)
    scheduled_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_size: int = 20
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        if not self.event_types:
            self.add_event_type("30 Minute Meeting")

    @property
    def user_uri(self) -> str:
        return f"{CALENDLY_API}/users/{self.user_uuid}"

    def add_event_type(self, name: str, *, active: bool = True, duration: int = 30) -> str:
        number = next(self._ids)
        uri = f"{CALENDLY_API}/event_types/ET{number:014d}"
        self.event_types.append({
            "uri": uri, "name": name, "active": active, "slug": name.lower().replace(" ", "-"), "duration": duration,
            "kind": "solo", "type": "StandardEventType", "scheduling_url": f"https://calendly.com/acme/{number}",
            "profile": {"type": "User", "owner": self.user_uri, "name": "Acme Sales"},
        })
        return uri

    def add_scheduled_event(self, start: datetime, end: datetime) -> str:
        """An event a lead booked through a scheduling link; its uuid."""
        event_uuid = str(uuid.uuid4()).upper()
        self.scheduled_events[event_uuid] = {
            "uri": f"{CALENDLY_API}/scheduled_events/{event_uuid}", "status": "active",
            "start_time": _iso(start), "end_time": _iso(end),
        }
        return event_uuid

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.secret}"

    def _error(self, status: int, message: str, details: list[dict[str, str]] | None = None) -> Response:
        titles = {400: "Invalid Argument", 401: "Unauthenticated", 403: "Permission Denied", 404: "Resource Not Found",
                  429: "Too Many Requests"}
        body: dict[str, Any] = {"title": titles.get(status, "Internal Server Error"), "message": message}
        if details:
            body["details"] = details
        return JSONResponse(body, status)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/users/me", self._wrap(self._me), methods=["GET"]),
            Route("/event_types", self._wrap(self._event_types), methods=["GET"]),
            Route("/user_busy_times", self._wrap(self._busy_times), methods=["GET"]),
            Route("/scheduling_links", self._wrap(self._scheduling_link), methods=["POST"]),
            Route("/scheduled_events/{uuid}", self._wrap(self._scheduled_event), methods=["GET"]),
            Route("/scheduled_events/{uuid}/cancellation", self._wrap(self._cancel), methods=["POST"]),
        ])

    async def _me(self, request: Request) -> Response:
        return JSONResponse({"resource": {
            "uri": self.user_uri, "name": "Acme Sales", "slug": "acme", "email": "sales@acme.test",
            "scheduling_url": "https://calendly.com/acme", "timezone": "Europe/Berlin",
            "current_organization": f"{CALENDLY_API}/organizations/BBBBBBBBBBBBBBBB",
        }})

    async def _event_types(self, request: Request) -> Response:
        params = request.query_params
        if params.get("user") != self.user_uri:
            return self._error(400, "The supplied parameters are invalid.",
                               [{"parameter": "user", "message": "must be the uri of a user you can see"}])
        chosen = [t for t in self.event_types if params.get("active") != "true" or t["active"]]
        offset = int(params.get("page_token") or 0)
        page, rest = chosen[offset: offset + self.page_size], chosen[offset + self.page_size:]
        next_token = str(offset + self.page_size) if rest else None
        next_page = f"{self.base_url}/event_types?user={self.user_uri}&page_token={next_token}" if next_token else None
        return JSONResponse({"collection": page, "pagination": {
            "count": len(page), "next_page": next_page, "previous_page": None, "next_page_token": next_token,
            "previous_page_token": None}})

    async def _busy_times(self, request: Request) -> Response:
        params = request.query_params
        if params.get("user") != self.user_uri:
            return self._error(400, "The supplied parameters are invalid.",
                               [{"parameter": "user", "message": "must be the uri of a user you can see"}])
        try:
            start, end = _parse(params["start_time"]), _parse(params["end_time"])
        except (KeyError, ValueError):
            return self._error(400, "The supplied parameters are invalid.",
                               [{"parameter": "start_time", "message": "must be a valid ISO 8601 time"}])
        problem = ("end_time", "must be after start_time") if end <= start else \
            ("start_time", "cannot be in the past") if start < datetime.now(UTC) else \
            ("end_time", "date range can be no greater than 1 week (7 days)") if end - start > timedelta(days=7) \
            else None
        if problem is not None:
            return self._error(400, "The supplied parameters are invalid.",
                               [{"parameter": problem[0], "message": problem[1]}])
        held = [(s, e, "external") for s, e in self.busy]
        held += [(_parse(ev["start_time"]), _parse(ev["end_time"]), "calendly")
                 for ev in self.scheduled_events.values() if ev["status"] == "active"]
        collection = [{"type": kind, "start_time": _iso(s), "end_time": _iso(e),
                       "buffered_start_time": _iso(s), "buffered_end_time": _iso(e)}
                      for s, e, kind in sorted(held) if s < end and start < e]
        return JSONResponse({"collection": collection})

    async def _scheduling_link(self, request: Request) -> Response:
        body = await request.json()
        owners = {t["uri"]: t for t in self.event_types}
        if body.get("owner_type") != "EventType" or body.get("owner") not in owners:
            return self._error(400, "The supplied parameters are invalid.",
                               [{"parameter": "owner", "message": "must be the uri of one of your event types"}])
        if body.get("max_event_count") != 1:
            return self._error(400, "The supplied parameters are invalid.",
                               [{"parameter": "max_event_count", "message": "must be 1"}])
        link = {"booking_url": f"https://calendly.com/d/{secrets.token_hex(3)}-{secrets.token_hex(2)}/"
                               f"{owners[body['owner']]['slug']}",
                "owner": body["owner"], "owner_type": "EventType"}
        self.scheduling_links.append(link)
        return JSONResponse({"resource": link}, 201)

    async def _scheduled_event(self, request: Request) -> Response:
        event = self.scheduled_events.get(request.path_params["uuid"])
        return self._error(404, "The server could not find the requested resource.") if event is None \
            else JSONResponse({"resource": event})

    async def _cancel(self, request: Request) -> Response:
        event = self.scheduled_events.get(request.path_params["uuid"])
        if event is None:
            return self._error(404, "The server could not find the requested resource.")
        if event["status"] == "canceled":
            return self._error(403, "Event is already canceled")
        body = await request.json() if await request.body() else {}
        event["status"] = "canceled"
        event["cancellation"] = {"canceled_by": "Acme Sales", "reason": body.get("reason"), "canceler_type": "host",
                                 "created_at": _iso(datetime.now(UTC))}
        return JSONResponse({"resource": event["cancellation"]}, 201)
