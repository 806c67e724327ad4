"""API keys: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response

from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.accounts_routes import key_out, minted_key
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import ManageKeys, Reply
from afo_gateway.entrypoints.http.schemas import KeyBody, KeyOut

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


@router.post("", status_code=201, response_model=KeyOut)
async def create_key(body: KeyBody, write: ManageKeys, gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        row, secret = await gw.keys.create(write.principal, body.kind, body.name, body.agent_id,
                                           body.allowed_origins)
        shown, withheld = minted_key(row, secret)
        return Reply(201, shown, kept=withheld)

    return await write.run(produce)


@router.get("", response_model=Page[KeyOut])
async def list_keys(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                    cursor: Cursor = None) -> Page[KeyOut]:
    rows = await gw.keys.list(principal, limit, cursor)
    return Page[KeyOut](data=[key_out(r) for r in rows], next_cursor=rows[-1].id if len(rows) == limit else None)


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    await gw.keys.revoke(principal, key_id)
    return Response(status_code=204)
