"""Integrator credentials for NATS: create (the secret is shown once), list (masked), revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from afo_common.rpcs.pages import Page
from afo_common.subjects import tenant_events
from afo_gateway.adapters.event_credentials_repository import EventCredentialRow
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import ManageKeys, Reply
from afo_gateway.entrypoints.http.schemas import EventCredentialBody, EventCredentialOut

router = APIRouter(prefix="/v1/event-credentials", tags=["event credentials"])


def credential_out(row: EventCredentialRow, nats_url: str, secret: str | None = None) -> EventCredentialOut:
    return EventCredentialOut(id=row.id, name=row.name, hint=row.hint, nats_url=nats_url,
                              subjects=[tenant_events(row.tenant_id)], created_at=row.created_at, secret=secret)


def _nats_url(request: Request) -> str:
    url: str = request.app.state.nats_public_url
    return url


@router.post("", status_code=201, response_model=EventCredentialOut)
async def create_event_credential(body: EventCredentialBody, request: Request, write: ManageKeys,
                                  gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        row, secret = await gw.event_credentials.create(write.principal, body.name)
        shown = credential_out(row, _nats_url(request), secret)
        return Reply(201, shown, kept=shown.model_copy(update={"secret": None, "secret_withheld": True}))

    return await write.run(produce)


@router.get("", response_model=Page[EventCredentialOut])
async def list_event_credentials(request: Request, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                                 cursor: Cursor = None) -> Page[EventCredentialOut]:
    rows = await gw.event_credentials.list(principal, limit, cursor)
    return Page[EventCredentialOut](data=[credential_out(r, _nats_url(request)) for r in rows],
                                    next_cursor=rows[-1].id if len(rows) == limit else None)


@router.delete("/{credential_id}", status_code=204)
async def revoke_event_credential(credential_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    await gw.event_credentials.revoke(principal, credential_id)
    return Response(status_code=204)
