"""Providers' credentials (the vault): write-only secrets, shown masked; a connection test."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, GatewayDep
from afo_gateway.entrypoints.http.idempotency import ManageIntegrations, Reply
from afo_gateway.entrypoints.http.openapi import problem_responses
from afo_gateway.entrypoints.http.schemas import IntegrationList, IntegrationOut, IntegrationTestOut, OAuthConnectOut
from afo_gateway.handlers.integrations import IntegrationView

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])
PROVIDER_FIELDS = (
    "the provider's fields: `twilio` {account_sid, auth_token, from_number?}, `openai` {api_key, base_url?}, "
    "`deepgram` / `elevenlabs` {api_key}, `hubspot` {access_token, base_url?}, `calendly` {access_token, "
    "event_type_uri?}, `google` {client_id?, client_secret?, calendar_id?} (then GET "
    "/v1/integrations/google/connect), `pipedrive` {api_token, company_domain, base_url?}, `salesforce` "
    "{instance_url, client_id, client_secret, refresh_token, login_url?, external_id_field?}, `smtp` {host, "
    "port, username?, password?, from_address, security? (starttls, tls or none; no login with none)}"
)


def integration_out(view: IntegrationView) -> IntegrationOut:
    return IntegrationOut(provider=view.provider, fields=view.fields, secret_fields=view.secret_fields,
                          key_id=view.key_id, created_at=view.created_at, updated_at=view.updated_at)


@router.get("/google/connect", response_model=OAuthConnectOut)
async def connect_google(request: Request, principal: CurrentPrincipal, gw: GatewayDep) -> OAuthConnectOut:
    """Google's consent URL for connecting the tenant's Google Calendar; Google sends the browser back to
    the callback below."""
    redirect_uri = gw.google_redirect_uri or str(request.url_for("google_callback"))
    return OAuthConnectOut(url=await gw.google.start(principal, redirect_uri))


# 400: a state unknown, used or expired, or consent refused; 502: Google failed; 503: no vault key to seal with.
@router.get("/google/callback", response_model=IntegrationOut, name="google_callback",
            responses=problem_responses(400, 502, 503))
async def google_callback(gw: GatewayDep, state: Annotated[str | None, Query(max_length=200)] = None,
                          code: Annotated[str | None, Query(max_length=2000)] = None,
                          error: Annotated[str | None, Query(max_length=200)] = None) -> IntegrationOut:
    """Where Google sends the browser back: no key or session, the single-use `state` names the tenant."""
    return integration_out(await gw.google.finish(state, code, error))


@router.put("/{provider}", response_model=IntegrationOut)
async def put_integration(provider: str, body: Annotated[dict[str, Any], Body(description=PROVIDER_FIELDS)],
                          write: ManageIntegrations, gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        # The answer is masked, so an Idempotency-Key replay echoes no secret either.
        return Reply(200, integration_out(await gw.integrations.put(write.principal, provider, body)))

    return await write.run(produce)


@router.get("", response_model=IntegrationList)
async def list_integrations(principal: CurrentPrincipal, gw: GatewayDep) -> IntegrationList:
    return IntegrationList(data=[integration_out(v) for v in await gw.integrations.list(principal)])


@router.get("/{provider}", response_model=IntegrationOut)
async def get_integration(provider: str, principal: CurrentPrincipal, gw: GatewayDep) -> IntegrationOut:
    return integration_out(await gw.integrations.get(principal, provider))


@router.delete("/{provider}", status_code=204)
async def remove_integration(provider: str, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    await gw.integrations.remove(principal, provider)
    return Response(status_code=204)


@router.post("/{provider}/test", response_model=IntegrationTestOut, responses=problem_responses(501))
async def test_integration(provider: str, principal: CurrentPrincipal, gw: GatewayDep) -> IntegrationTestOut:
    result = await gw.integrations.test(principal, provider)
    return IntegrationTestOut(ok=result.ok, error=result.error, status=result.status)
