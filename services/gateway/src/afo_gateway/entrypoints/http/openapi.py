"""What FastAPI cannot see in the OpenAPI document, added to it: how an operation authenticates (the routes read
``Authorization`` or the session cookie themselves, ``dependencies.py``), and the errors each operation answers,
as the problem+json they are (``problems.py``), not FastAPI's default 422 body under ``application/json``, which
the gateway never sends.

Which statuses an operation documents follows from what the shared machinery can answer for it: a request with
parameters or a body can be refused as invalid (422) and a body as too large (413); an operation that
authenticates can be refused for the key or session (401), for its role or origin (403) and by the rate limit or
the plan's allowance (429), and then asks the service that owns what it reads or writes, whose answers map to
404, 409, 422 and, when that service fails, is unreachable or late, 502, 503 and 504 (``handlers/owners.py``).
What only some operations answer (402 at a plan's limit, 400 on a bad OAuth state, ...) each route declares in
its own ``responses``; a description it gives is kept."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict
from starlette.routing import BaseRoute

from afo_gateway.entrypoints.http.dependencies import SESSION_COOKIE, current_principal, stream_principal
from afo_gateway.entrypoints.http.problems import PROBLEM_JSON

_COMPONENTS = "#/components/schemas/{model}"
_DESCRIPTIONS = {
    400: "Bad request", 401: "No valid key or session", 402: "The plan allows no more", 403: "Not allowed",
    404: "Not found in this tenant", 409: "Conflicts with the current state, or an Idempotency-Key in use",
    413: "The body is larger than the limit", 415: "Unsupported media type", 422: "Invalid request",
    429: "Rate-limited, or the plan's allowance is used up for now (see Retry-After)",
    501: "Not available", 502: "A platform service failed", 503: "A platform service is unavailable",
    504: "A platform service did not answer in time",
}
_AUTHENTICATED = (401, 403, 404, 409, 422, 429, 502, 503, 504)


class ProblemError(BaseModel):
    """One reason a request was refused: where (``loc``, e.g. ``["body", "name"]``) and why."""

    loc: list[str | int]
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem. Some carry more members for a client to act on (``max_bytes``, ``accepted``,
    ``failing_tests``, ``limit``/``allowed``/``used``/``plan``); ``type`` is ``https://afo.dev/problems/<slug>``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemError] | None = None


_SECURITY_SCHEMES = {
    "key": {"type": "http", "scheme": "bearer",
            "description": "a secret key (sk_…), or a publishable key (pk_…) where an operation says so"},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": "the session POST /v1/login sets"},
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route's ``responses``: problems only it answers (the document adds their problem+json body)."""
    return {status: {"description": _DESCRIPTIONS[status]} for status in statuses}


def install_openapi(app: FastAPI) -> None:
    """Wraps ``app.openapi`` so the document it builds (once, then cached) states every route's authentication
    and problems."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            document_security(document, app.routes)
            document_problems(document, app.routes)
        return build()

    app.openapi = openapi  # type: ignore[method-assign]


def document_security(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    document.setdefault("components", {})["securitySchemes"] = _SECURITY_SCHEMES
    for route, operation in _operations(document, routes):
        if _authenticates(route.dependant):
            operation["security"] = [{name: []} for name in _SECURITY_SCHEMES]


def document_problems(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template=_COMPONENTS)
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    content = {PROBLEM_JSON: {"schema": {"$ref": _COMPONENTS.format(model="Problem")}}}
    for route, operation in _operations(document, routes):
        responses: dict[str, Any] = operation["responses"]
        for status in sorted(problem_statuses(route) | _declared_problems(responses)):
            response = responses.setdefault(str(status), {})
            response["description"] = response.get("description") or _DESCRIPTIONS[status]
            response["content"] = content
    # FastAPI's own 422 bodies, now referenced by no operation.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def problem_statuses(route: APIRoute) -> set[int]:
    statuses: set[int] = set()
    dependant = route.dependant
    if route.body_field is not None:
        # 400: a body that is not text at all (FastAPI's own refusal; one that is text but not JSON is a 422).
        statuses |= {400, 413, 422}
    if any(_parameters(dependant)):
        statuses.add(422)
    if _authenticates(dependant):
        statuses.update(_AUTHENTICATED)
    return statuses


def _operations(document: dict[str, Any], routes: Sequence[BaseRoute]) -> Iterator[tuple[APIRoute, dict[str, Any]]]:
    """Each documented operation with its route (routers are included by reference: a route's path in the
    document is its context's, prefixes added)."""
    for context in iter_route_contexts(routes):
        route, operations = context.original_route, document["paths"].get(context.path_format, {})
        if isinstance(route, APIRoute):
            for method in context.methods or ():
                if method.lower() in operations:
                    yield route, operations[method.lower()]


def _declared_problems(responses: dict[str, Any]) -> set[int]:
    """Error statuses a route declared itself (with a description, without a body: the body is a problem)."""
    return {int(status) for status in responses if status.isdigit() and int(status) >= 400}


def _parameters(dependant: Dependant) -> Iterator[object]:
    for sub in _walk(dependant):
        yield from (*sub.path_params, *sub.query_params, *sub.header_params, *sub.cookie_params)


def _authenticates(dependant: Dependant) -> bool:
    return any(sub.call in (current_principal, stream_principal) for sub in _walk(dependant))


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)
