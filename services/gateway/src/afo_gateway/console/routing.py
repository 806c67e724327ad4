"""The console's routers: a route class that answers a page's failures as pages, not problem+json.

A visitor without a session is sent to the login page (htmx is told with ``HX-Redirect``, which it follows
as a full navigation); a domain error (forbidden, not found, invalid) is the error page with its status."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from afo_gateway.console.rendering import render
from afo_gateway.console.session import LoginRequired
from afo_gateway.domain.errors import ApiProblem


def redirect(request: Request, url: str) -> Response:
    """See other: after a form, or to a page the visitor must go to first."""
    if "HX-Request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except LoginRequired as needed:
                return redirect(request, f"/console/login?next={quote(needed.next_path, safe='/')}")
            except ApiProblem as problem:
                return render(request, "error.html", problem.status, title=problem.title, detail=problem.detail)
            except RequestValidationError:
                return render(request, "error.html", 422, title="Not a valid request",
                              detail="Some of what was sent is missing or malformed.")

        return route


def console_router() -> APIRouter:
    return APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
