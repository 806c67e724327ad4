"""Request-scoped pieces every route takes: the gateway's handlers and the calling principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from afo_gateway.domain.access import Principal
from afo_gateway.domain.errors import Forbidden, Unauthorized
from afo_gateway.handlers.accounts import Accounts
from afo_gateway.handlers.authentication import Authenticator
from afo_gateway.handlers.catalog import Catalog
from afo_gateway.handlers.event_credentials import EventCredentials
from afo_gateway.handlers.keys import Keys
from afo_gateway.handlers.messages import Messages
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.replays import Replays

SESSION_COOKIE = "afo_session"


@dataclass(frozen=True)
class Gateway:
    accounts: Accounts
    keys: Keys
    owners: Owners
    messages: Messages
    catalog: Catalog
    auth: Authenticator
    replays: Replays
    event_credentials: EventCredentials


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def _authenticate(request: Request, token: str | None) -> Principal:
    gw = gateway(request)
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    principal: Principal | None = None
    if scheme.lower() == "bearer" and credential:
        principal = await gw.auth.by_key(credential.strip())
    elif token:
        principal = await gw.auth.by_key(token)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = await gw.auth.by_session(cookie)
    else:
        raise Unauthorized("send 'Authorization: Bearer <key>' or log in")
    if principal is None:
        raise Unauthorized("the key or session is not valid")
    if principal.is_publishable and not principal.may_use_origin(request.headers.get("origin")):
        raise Forbidden("this publishable key is not allowed from this origin")
    return principal


async def current_principal(request: Request) -> Principal:
    return await _authenticate(request, None)


async def stream_principal(
    request: Request,
    access_token: Annotated[str | None, Query(description="for EventSource, which cannot set headers")] = None,
) -> Principal:
    return await _authenticate(request, access_token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
StreamPrincipal = Annotated[Principal, Depends(stream_principal)]
GatewayDep = Annotated[Gateway, Depends(gateway)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=64)]
