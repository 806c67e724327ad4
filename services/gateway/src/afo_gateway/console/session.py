"""Who is looking at a console page: the session cookie's user, or a redirect to the login page.

Forms post back to the console with the session cookie, so each post must prove it comes from one of our
pages: a token derived from the session (sent as the ``csrf`` form field, or the ``X-CSRF-Token`` header by
htmx) and, when the browser sends one, an Origin equal to the page's own. SameSite=Lax on the cookie already
keeps other sites' forms out; the token covers browsers and proxies that do not honour it."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from afo_gateway.adapters.accounts_repository import TenantRow, UserRow
from afo_gateway.domain.access import Permission, Principal, is_own_origin
from afo_gateway.domain.errors import Forbidden
from afo_gateway.entrypoints.http.dependencies import SESSION_COOKIE, gateway

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    user: UserRow
    tenant: TenantRow
    csrf_token: str

    @property
    def role(self) -> str:
        return self.user.role

    def can(self, permission: str) -> bool:
        return self.principal.can(Permission(permission))


def csrf_token_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"afo-console-csrf", hashlib.sha256).hexdigest()


def safe_next(candidate: str | None) -> str:
    """Where to go after logging in: a console path of ours, never another site (an open redirect)."""
    if candidate and candidate.startswith("/console") and not candidate.startswith("//") \
            and "\\" not in candidate:
        return candidate
    return "/console"


def same_origin(request: Request) -> bool:
    """A form sent from one of our pages (one without an Origin header carries the CSRF token all the same)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return is_own_origin(origin, host=request.headers.get("host", ""), scheme=request.url.scheme,
                         public_url=request.app.state.public_url)


async def check_form_origin(request: Request, expected_token: str | None) -> None:
    """Refuses an unsafe request that did not come from one of our pages."""
    if request.method not in UNSAFE_METHODS:
        return
    if not same_origin(request):
        raise Forbidden("this form was sent from another site")
    if expected_token is None:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if sent is None or not hmac.compare_digest(sent, expected_token):
        raise Forbidden("this form has expired: reload the page and send it again")


async def current_viewer(request: Request) -> Viewer:
    gw = gateway(request)
    token = request.cookies.get(SESSION_COOKIE)
    principal = await gw.auth.by_session(token) if token else None
    if principal is None or token is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else request.url.path)
    csrf_token = csrf_token_for(token)
    await check_form_origin(request, csrf_token)
    user, tenant = await gw.accounts.me(principal)
    viewer = Viewer(principal, user, tenant, csrf_token)
    request.state.viewer = viewer
    return viewer


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]
