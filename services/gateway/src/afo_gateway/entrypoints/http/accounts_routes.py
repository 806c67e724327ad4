"""Sign-up, login/logout, the tenant and its users."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from afo_common.rpcs.pages import Page
from afo_gateway.adapters.accounts_repository import ApiKeyRow, TenantRow, UserRow
from afo_gateway.entrypoints.http.dependencies import (
    SESSION_COOKIE,
    CurrentPrincipal,
    Cursor,
    GatewayDep,
    Limit,
    client_address,
    set_session_cookie,
)
from afo_gateway.entrypoints.http.idempotency import ManageUsers, PublicWrite, Reply
from afo_gateway.entrypoints.http.openapi import problem_responses
from afo_gateway.entrypoints.http.schemas import (
    KeyOut,
    LoginBody,
    RoleBody,
    SignupBody,
    SignupOut,
    TenantOut,
    TenantPatch,
    UserBody,
    UserOut,
)

router = APIRouter(prefix="/v1")


def tenant_out(row: TenantRow) -> TenantOut:
    return TenantOut(id=row.id, name=row.name, timezone=row.timezone, created_at=row.created_at)


def user_out(row: UserRow) -> UserOut:
    return UserOut(id=row.id, email=row.email, role=row.role, created_at=row.created_at)


def key_out(row: ApiKeyRow, secret: str | None = None) -> KeyOut:
    return KeyOut(id=row.id, kind=row.kind, name=row.name, hint=row.hint,
                  agent_id=row.agent_id, allowed_origins=row.allowed_origins, created_at=row.created_at,
                  secret=secret)


def minted_key(row: ApiKeyRow, secret: str) -> tuple[KeyOut, KeyOut]:
    """A new key as answered once, and as an Idempotency-Key replay answers it (the secret withheld)."""
    shown = key_out(row, secret)
    return shown, shown.model_copy(update={"secret": None, "secret_withheld": True})


@router.post("/signup", status_code=201, response_model=SignupOut, tags=["accounts"],
             responses=problem_responses(409, 429))
async def signup(body: SignupBody, request: Request, write: PublicWrite, gw: GatewayDep) -> Response:
    await gw.throttle.signup(client_address(request), body.email)

    async def produce() -> Reply:
        done = await gw.accounts.signup(body.email, body.password, body.company, body.timezone)
        shown, withheld = minted_key(done.key, done.secret)
        out = SignupOut(tenant=tenant_out(done.tenant), user=user_out(done.user), api_key=shown)
        return Reply(201, out, kept=out.model_copy(update={"api_key": withheld}))

    return await write.run(produce)


@router.post("/login", response_model=UserOut, tags=["accounts"], responses=problem_responses(401, 429))
async def login(body: LoginBody, request: Request, gw: GatewayDep) -> Response:
    await gw.throttle.login(client_address(request), body.email)
    user, token = await gw.accounts.login(body.email, body.password)
    return set_session_cookie(request, JSONResponse(user_out(user).model_dump(mode="json")), token)


@router.post("/logout", status_code=204, tags=["accounts"])
async def logout(request: Request, gw: GatewayDep) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        await gw.accounts.logout(token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/tenant", response_model=TenantOut, tags=["accounts"])
async def get_tenant(principal: CurrentPrincipal, gw: GatewayDep) -> TenantOut:
    return tenant_out(await gw.accounts.tenant(principal))


@router.patch("/tenant", response_model=TenantOut, tags=["accounts"])
async def patch_tenant(body: TenantPatch, principal: CurrentPrincipal, gw: GatewayDep) -> TenantOut:
    return tenant_out(await gw.accounts.update_tenant(principal, body.name, body.timezone))


@router.post("/users", status_code=201, response_model=UserOut, tags=["accounts"])
async def add_user(body: UserBody, write: ManageUsers, gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        return Reply(201, user_out(await gw.accounts.add_user(write.principal, body.email, body.password,
                                                              body.role)))

    return await write.run(produce)


@router.get("/users", response_model=Page[UserOut], tags=["accounts"])
async def list_users(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                     cursor: Cursor = None) -> Page[UserOut]:
    rows = await gw.accounts.users(principal, limit, cursor)
    return Page[UserOut](data=[user_out(r) for r in rows], next_cursor=rows[-1].id if len(rows) == limit else None)


@router.patch("/users/{user_id}", response_model=UserOut, tags=["accounts"])
async def change_role(user_id: str, body: RoleBody, principal: CurrentPrincipal, gw: GatewayDep) -> UserOut:
    return user_out(await gw.accounts.change_role(principal, user_id, body.role))
