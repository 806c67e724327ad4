"""Puts the console on the gateway's app: its pages under /console and its assets under /console/static."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from afo_gateway.console.pages import (
    accounts,
    activity,
    admin,
    admin_plans,
    agent_tests,
    agents,
    analytics,
    anomalies,
    audit,
    channels,
    integrations,
    knowledge,
    settings,
    usage,
)
from afo_gateway.console.rendering import STATIC_DIR, STATIC_PREFIX

PAGES = (accounts, activity, agents, agent_tests, channels, knowledge, integrations, settings, analytics, anomalies,
         admin, admin_plans, usage, audit)


class VersionedStatic(StaticFiles):
    """Assets the pages address by content digest (``?v=``) may be kept by a browser for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install_console(app: FastAPI) -> None:
    for page in PAGES:
        app.include_router(page.router)
    app.mount(STATIC_PREFIX, VersionedStatic(directory=STATIC_DIR), name="console-static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console", status_code=307)
