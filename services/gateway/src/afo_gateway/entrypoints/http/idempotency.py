"""The HTTP side of Idempotency-Key. A write route gets its principal only inside an ``Authorized`` write,
built by a dependency that checks the route's permission first: a replay is a response like any other and
cannot skip authorization, because there is no way to reach one without the check."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from afo_common.ids import new_id
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.idempotency import Scope, fingerprint
from afo_gateway.domain.idempotency import request_id as derived_request_id
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, gateway
from afo_gateway.handlers.replays import Produced

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: BaseModel | dict[str, Any]
    # What a replay returns instead of ``body``: a route that shows a secret once keeps a copy without it.
    kept: BaseModel | None = None


def _json(body: BaseModel | dict[str, Any]) -> bytes:
    content = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


class _Write:
    def __init__(self, request: Request, principal: Principal | None) -> None:
        self._request = request
        self._principal = principal

    @property
    def request_id(self) -> str:
        """For a create: derived from the Idempotency-Key when there is one (a retry finds what the first
        attempt made), else fresh."""
        key = self._request.headers.get(HEADER)
        if key is None:
            return new_id("req")
        return derived_request_id(self._scope(), key)

    def _scope(self) -> Scope:
        return Scope.of(self._principal, self._request.method, self._request.scope["route"].path)

    async def run(self, produce: Callable[[], Awaitable[Reply]], *, body: bytes | None = None) -> Response:
        """``body``: what stands for the request body in "the same request", for a route that read the body
        itself (an upload: the stream is gone, and its multipart framing differs on every attempt)."""
        request = self._request
        key = request.headers.get(HEADER)
        if key is None:
            reply = await produce()
            return Response(_json(reply.body), reply.status_code, media_type="application/json")

        async def produced() -> Produced:
            reply = await produce()
            body = _json(reply.body)
            return Produced(reply.status_code, body, body if reply.kept is None else _json(reply.kept))

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        request_hash = fingerprint(request.method, target, await request.body() if body is None else body)
        answer = await gateway(request).replays.run(self._scope(), key, request_hash, produced)
        return Response(answer.body, answer.status_code, media_type="application/json",
                        headers={REPLAYED: "true"} if answer.replayed else None)


class Authorized(_Write):
    """A write by a principal that holds the route's permission."""

    def __init__(self, request: Request, principal: Principal) -> None:
        super().__init__(request, principal)
        self.principal = principal


class Public(_Write):
    """A write anyone may make (sign-up); its records share one anonymous scope."""


def authorized(permission: Permission, *, publishable: bool = False) -> Any:
    async def dependency(request: Request, principal: CurrentPrincipal) -> Authorized:
        require(principal, permission, publishable=publishable)
        return Authorized(request, principal)

    return Depends(dependency)


async def _public(request: Request) -> Public:
    return Public(request, None)


ManageKeys = Annotated[Authorized, authorized(Permission.MANAGE_KEYS)]
ManageIntegrations = Annotated[Authorized, authorized(Permission.MANAGE_INTEGRATIONS)]
ManageUsers = Annotated[Authorized, authorized(Permission.MANAGE_USERS)]
Write = Annotated[Authorized, authorized(Permission.WRITE)]
# Publishable keys pass here; the handler then holds them to their own agent's web conversations.
WidgetWrite = Annotated[Authorized, authorized(Permission.WRITE, publishable=True)]
PublicWrite = Annotated[Public, Depends(_public)]
