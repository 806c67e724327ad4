"""Local stand-ins for the HubSpot CRM v3, Pipedrive v1 and Salesforce REST APIs, speaking their documented JSON
over real HTTP.

Each keeps its records in memory, checks the credential (HubSpot: `Authorization: Bearer`; Pipedrive:
`x-api-token` header or `api_token` query parameter; Salesforce: a bearer access token its OAuth token endpoint
issued for the refresh token, answered 401 `INVALID_SESSION_ID` once `expire_sessions` ran), and records
every request with its arrival time (`time.monotonic()`), so tests can measure the waits a client kept.
`fail_next` answers the next requests (optionally only those to one path) with an error — 429 with
`Retry-After`, 500, … — either before doing anything, or after doing the work (`after_processing=True`: the
client never hears that its create landed).
"""

from __future__ import annotations

import itertools
import time
import uuid
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from afo_testkit.local_server import LocalStandIn

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    at: float  # time.monotonic() on arrival
    status: int = 0


@dataclass
class ScriptedFailure:
    status: int
    times: int = 1
    retry_after: str | None = None
    path: str | None = None  # only requests to this path fail; any path when None
    after_processing: bool = False


@dataclass
class _StandIn(LocalStandIn):
    """What both stand-ins share: recorded requests, scripted failures, serving; each says how it
    authenticates, how it words an error and which routes it has."""

    secret: str
    requests: list[Recorded] = field(default_factory=list)
    failures: list[ScriptedFailure] = field(default_factory=list)
    port: int = 0
    _serving: AbstractAsyncContextManager[int] | None = None

    def fail_next(
        self, times: int, status: int, *, retry_after: str | None = None, path: str | None = None,
        after_processing: bool = False,
    ) -> None:
        self.failures.append(ScriptedFailure(status, times, retry_after, path, after_processing))

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    @abstractmethod
    def _authorized(self, request: Request) -> bool: ...

    @abstractmethod
    def _error(self, status: int, message: str) -> Response: ...

    def _wrap(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            arrived = time.monotonic()
            response = await self._answer(request, handler)
            self.requests.append(Recorded(request.method, request.url.path, arrived, response.status_code))
            return response

        return endpoint

    async def _answer(self, request: Request, handler: Handler) -> Response:
        if not self._authorized(request):
            return self._error(401, "Authentication credentials not found or invalid.")
        failure = next((f for f in self.failures if f.path in (None, request.url.path)), None)
        if failure is None:
            return await handler(request)
        failure.times -= 1
        if failure.times <= 0:
            self.failures.remove(failure)
        if failure.after_processing:
            await handler(request)
        response = self._error(failure.status, f"Scripted failure {failure.status}")
        if failure.retry_after is not None:
            response.headers["Retry-After"] = failure.retry_after
        return response

    @abstractmethod
    def app(self) -> Starlette: ...

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FakeHubSpot(_StandIn):
    """Contacts (unique by `email`, as HubSpot keeps them), notes with their associations, the portal id."""

    portal_id: int = 4242
    search_behind: bool = False  # the search index has not caught up: searches find nothing
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(101))

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.secret}"

    def _error(self, status: int, message: str) -> Response:
        category = {401: "INVALID_AUTHENTICATION", 409: "CONFLICT", 429: "RATE_LIMITS"}.get(status, "VALIDATION_ERROR")
        body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
        return JSONResponse(body, status)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/account-info/v3/details", self._wrap(self._details), methods=["GET"]),
            Route("/crm/v3/objects/contacts/search", self._wrap(self._search), methods=["POST"]),
            Route("/crm/v3/objects/contacts", self._wrap(self._create), methods=["POST"]),
            Route("/crm/v3/objects/contacts/{id}", self._wrap(self._update), methods=["PATCH"]),
            Route("/crm/v3/objects/notes", self._wrap(self._note), methods=["POST"]),
        ])

    def _object(self, object_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        return {"id": object_id, "properties": properties, "createdAt": properties.get("createdate"),
                "updatedAt": properties.get("lastmodifieddate"), "archived": False}

    async def _details(self, request: Request) -> Response:
        return JSONResponse({"portalId": self.portal_id, "accountType": "STANDARD", "timeZone": "US/Eastern",
                             "companyCurrency": "USD", "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})

    async def _search(self, request: Request) -> Response:
        body = await request.json()
        filters = [f for group in body["filterGroups"] for f in group["filters"]]
        wanted = {f["value"].lower() for f in filters if f["propertyName"] == "email" and f["operator"] == "EQ"}
        found = [self._object(i, c) for i, c in self.contacts.items() if c["email"].lower() in wanted]
        found = [] if self.search_behind else found
        return JSONResponse({"total": len(found), "results": found[: int(body.get("limit", 10))]})

    async def _create(self, request: Request) -> Response:
        properties: dict[str, Any] = (await request.json())["properties"]
        if "email" not in properties:
            return self._error(400, "Property values were not valid: email is required")
        for contact_id, contact in self.contacts.items():
            if contact["email"].lower() == properties["email"].lower():
                return self._error(409, f"Contact already exists. Existing ID: {contact_id}")
        contact_id = str(next(self._ids))
        self.contacts[contact_id] = {**properties, "createdate": _now_iso(), "lastmodifieddate": _now_iso()}
        return JSONResponse(self._object(contact_id, self.contacts[contact_id]), 201)

    async def _update(self, request: Request) -> Response:
        contact_id = request.path_params["id"]
        if contact_id not in self.contacts:
            return self._error(404, f"resource not found: contact {contact_id}")
        self.contacts[contact_id].update((await request.json())["properties"], lastmodifieddate=_now_iso())
        return JSONResponse(self._object(contact_id, self.contacts[contact_id]))

    async def _note(self, request: Request) -> Response:
        body = await request.json()
        properties = body["properties"]
        if "hs_timestamp" not in properties:
            return self._error(400, "Property values were not valid: hs_timestamp is required")
        for association in body.get("associations", []):
            if str(association["to"]["id"]) not in self.contacts:
                return self._error(400, f"Invalid association target {association['to']['id']}")
        note_id = str(next(self._ids))
        self.notes[note_id] = {"properties": properties, "associations": body.get("associations", [])}
        return JSONResponse(self._object(note_id, properties), 201)


@dataclass
class FakePipedrive(_StandIn):
    """Persons (Pipedrive allows two with one email: the client must search first), leads and notes."""

    persons: dict[int, dict[str, Any]] = field(default_factory=dict)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _authorized(self, request: Request) -> bool:
        token = request.headers.get("x-api-token") or request.query_params.get("api_token")
        return token == self.secret

    def _error(self, status: int, message: str) -> Response:
        return JSONResponse({"success": False, "error": message, "errorCode": status, "error_info": ""}, status)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/persons/search", self._wrap(self._search), methods=["GET"]),
            Route("/v1/persons", self._wrap(self._create_person), methods=["POST"]),
            Route("/v1/persons/{id:int}", self._wrap(self._update_person), methods=["PUT"]),
            Route("/v1/leads", self._wrap(self._list_leads), methods=["GET"]),
            Route("/v1/leads", self._wrap(self._create_lead), methods=["POST"]),
            Route("/v1/notes", self._wrap(self._create_note), methods=["POST"]),
        ])

    @staticmethod
    def _ok(data: Any, status: int = 200, **extra: Any) -> Response:
        return JSONResponse({"success": True, "data": data, **extra}, status)

    async def _search(self, request: Request) -> Response:
        term = request.query_params["term"].lower()
        exact = request.query_params.get("exact_match") == "true"
        items = []
        for person_id, person in self.persons.items():
            emails = [e["value"].lower() for e in person.get("email", [])]
            if any(e == term if exact else term in e for e in emails):
                item = {"id": person_id, "type": "person", "name": person["name"], "emails": emails,
                        "phones": [p["value"] for p in person.get("phone", [])], "organization": None}
                items.append({"result_score": 1.0, "item": item})
        pagination = {"start": 0, "limit": 100, "more_items_in_collection": False}
        return self._ok({"items": items}, additional_data={"pagination": pagination})

    async def _create_person(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("name"):
            return self._error(400, "Name must be given.")
        person_id = next(self._ids)
        self.persons[person_id] = {**body, "id": person_id, "add_time": _now_iso()}
        return self._ok(self.persons[person_id], 201)

    async def _update_person(self, request: Request) -> Response:
        person_id = request.path_params["id"]
        if person_id not in self.persons:
            return self._error(404, "Person not found")
        self.persons[person_id].update(await request.json())
        return self._ok(self.persons[person_id])

    async def _list_leads(self, request: Request) -> Response:
        person_id = int(request.query_params["person_id"]) if "person_id" in request.query_params else None
        archived = {"archived": True, "not_archived": False}.get(request.query_params.get("archived_status", ""))
        found = [lead for lead in self.leads.values()
                 if person_id in (None, lead["person_id"]) and archived in (None, lead["is_archived"])]
        return self._ok(found)

    async def _create_lead(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("title") or body.get("person_id") not in self.persons:
            return self._error(400, "Lead must have a title and an existing person or organization")
        lead_id = str(uuid.uuid4())
        self.leads[lead_id] = {"id": lead_id, "title": body["title"], "person_id": body["person_id"],
                               "organization_id": None, "is_archived": False, "add_time": _now_iso()}
        return self._ok(self.leads[lead_id], 201)

    async def _create_note(self, request: Request) -> Response:
        body = await request.json()
        targets = ("lead_id", "person_id", "deal_id", "org_id")
        if not body.get("content") or not any(body.get(k) for k in targets):
            return self._error(400, "Note must have content and be attached to a lead, person, deal or org")
        if body.get("lead_id") and body["lead_id"] not in self.leads:
            return self._error(404, "Lead not found")
        note_id = next(self._ids)
        self.notes[note_id] = {**body, "id": note_id, "add_time": _now_iso()}
        return self._ok(self.notes[note_id], 201)


@dataclass
class FakeSalesforce(_StandIn):
    """The OAuth token endpoint (refresh-token grant; `secret` is the refresh token) and the instance's REST API:
    Leads upserted by an external id field, Tasks on a Lead. Errors are Salesforce's list of
    `{message, errorCode}`. `instance_url` in the token answer is this server."""

    client_id: str = "3MVG9-client-id"
    client_secret: str = "client-secret-0123"
    external_id_field: str = "AFO_Email__c"
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    TOKEN_PATH = "/services/oauth2/token"

    def expire_sessions(self) -> None:
        """Every access token issued so far is refused from now on, as after a session timeout."""
        self.sessions.clear()

    def _authorized(self, request: Request) -> bool:
        if request.url.path == self.TOKEN_PATH:
            return True  # the grant's own fields are checked by the endpoint
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header.removeprefix("Bearer ") in self.sessions

    def _error(self, status: int, message: str) -> Response:
        code = {401: "INVALID_SESSION_ID", 404: "NOT_FOUND", 429: "REQUEST_LIMIT_EXCEEDED"}.get(status, "ERROR")
        if status == 401:
            message = "Session expired or invalid"
        return JSONResponse([{"message": message, "errorCode": code}], status)

    def app(self) -> Starlette:
        lead = "/services/data/{version}/sobjects/Lead/{field}/{value}"
        return Starlette(routes=[
            Route(self.TOKEN_PATH, self._wrap(self._token), methods=["POST"]),
            Route(lead, self._wrap(self._upsert), methods=["PATCH"]),
            Route(lead, self._wrap(self._get_lead), methods=["GET"]),
            Route("/services/data/{version}/sobjects/Task", self._wrap(self._task), methods=["POST"]),
        ])

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        grant = (form.get("grant_type"), form.get("client_id"), form.get("client_secret"), form.get("refresh_token"))
        if grant != ("refresh_token", self.client_id, self.client_secret, self.secret):
            return JSONResponse({"error": "invalid_grant", "error_description": "expired access/refresh token"}, 400)
        self.tokens_issued += 1
        token = f"00Dxx0000001!{uuid.uuid4().hex}"
        self.sessions.add(token)
        return JSONResponse({"access_token": token, "instance_url": self.base_url, "token_type": "Bearer",
                             "id": f"{self.base_url}/id/00Dxx0000001/005xx0000001",
                             "issued_at": str(int(time.time() * 1000)), "signature": "c2lnbmF0dXJl"})

    def _find(self, request: Request) -> tuple[str | None, Response | None]:
        if request.path_params["field"] != self.external_id_field:
            message = f"Provided external ID field does not exist or is not accessible: {request.path_params['field']}"
            return None, self._error(404, message)
        value = request.path_params["value"]
        found = [i for i, lead in self.leads.items() if lead.get(self.external_id_field) == value]
        return (found[0] if found else None), None

    async def _upsert(self, request: Request) -> Response:
        lead_id, refused = self._find(request)
        if refused is not None:
            return refused
        body: dict[str, Any] = await request.json()
        if self.external_id_field in body:
            return self._error(400, f"The external id field {self.external_id_field} belongs in the URL")
        if lead_id is not None:
            self.leads[lead_id].update(body)
            if float(request.path_params["version"].lstrip("v")) < 46.0:
                return Response(status_code=204)
            return JSONResponse({"id": lead_id, "success": True, "errors": [], "created": False}, 200)
        missing = [name for name in ("LastName", "Company") if not body.get(name)]
        if missing:
            return JSONResponse([{"message": f"Required fields are missing: {missing}",
                                  "errorCode": "REQUIRED_FIELD_MISSING", "fields": missing}], 400)
        lead_id = self._new_id("00Q")
        self.leads[lead_id] = {**body, self.external_id_field: request.path_params["value"], "Id": lead_id}
        return JSONResponse({"id": lead_id, "success": True, "errors": [], "created": True}, 201)

    async def _get_lead(self, request: Request) -> Response:
        lead_id, refused = self._find(request)
        if refused is not None:
            return refused
        if lead_id is None:
            return self._error(404, "The requested resource does not exist")
        wanted = request.query_params.get("fields", "Id").split(",")
        record = {name: self.leads[lead_id].get(name) for name in wanted}
        url = f"/services/data/{request.path_params['version']}/sobjects/Lead/{lead_id}"
        return JSONResponse({"attributes": {"type": "Lead", "url": url}, **record})

    async def _task(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        if body.get("WhoId") not in self.leads:
            return JSONResponse([{"message": "Who ID: id value of incorrect type", "errorCode":
                                  "FIELD_INTEGRITY_EXCEPTION", "fields": ["WhoId"]}], 400)
        task_id = self._new_id("00T")
        self.tasks[task_id] = {**body, "Id": task_id}
        return JSONResponse({"id": task_id, "success": True, "errors": []}, 201)
