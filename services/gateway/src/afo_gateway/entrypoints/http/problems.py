"""RFC 9457 problem+json for every error the public API returns, mapped in this one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match

from afo_gateway.domain.errors import ApiProblem

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_TITLES = {400: "Bad request", 401: "Authentication required", 403: "Not allowed", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
           422: "Invalid request", 429: "Too many requests", 500: "Internal error"}


def problem(status: int, detail: str, *, slug: str | None = None, title: str | None = None,
            instance: str | None = None, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None, extensions: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://afo.dev/problems/{slug or _slug(status)}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in (extensions or {}).items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _slug(status: int) -> str:
    return _TITLES.get(status, "error").lower().replace(" ", "-")


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors]


def allowed_methods(request: Request) -> str:
    """A 405's ``Allow`` (RFC 9110): the methods of the resource the path names. Starlette's names only the
    first route whose path matched, while each of our methods on a path is a route of its own. Where templates
    overlap (``…/tests/run`` and ``…/tests/{test_id}``), the path names the one with the fewest parameters."""
    methods: dict[int, set[str]] = {}
    for context in iter_route_contexts(request.app.routes):
        match, _ = context.matches(request.scope)
        if match is not Match.NONE:
            parameters = str(context.path_format).count("{")
            methods.setdefault(parameters, set()).update(context.methods or ())
    return ", ".join(sorted(methods[min(methods)])) if methods else ""


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def on_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.detail, slug=exc.slug, title=exc.title, instance=request.url.path,
                       errors=exc.errors, headers=exc.headers, extensions=exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, "the request does not match the schema", slug="validation-error",
                       instance=request.url.path, errors=_jsonable_errors(exc.errors()))

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem(exc.status_code, str(exc.detail), instance=request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "the gateway failed to handle the request", instance=request.url.path)
