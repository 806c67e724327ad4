"""Providers' credentials (the vault): write-only secrets, shown masked; a connection test."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, GatewayDep
from afo_gateway.entrypoints.http.idempotency import ManageIntegrations, Reply
from afo_gateway.entrypoints.http.schemas import IntegrationList, IntegrationOut, IntegrationTestOut
from afo_gateway.handlers.integrations import IntegrationView

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])
PROVIDER_FIELDS = (
    "the provider's fields: `twilio` {account_sid, auth_token, from_number?}, `openai` {api_key, base_url?}, "
    "`deepgram` / `elevenlabs` {api_key}, `hubspot` {access_token, base_url?}, `calendly` {access_token}, "
    "`pipedrive` {api_token, company_domain, base_url?}, `salesforce` {instance_url, client_id, client_secret, "
    "refresh_token, login_url?, external_id_field?}, `smtp` {host, port, "
    "username, password, from_address, starttls}"
)


def integration_out(view: IntegrationView) -> IntegrationOut:
    return IntegrationOut(provider=view.provider, fields=view.fields, secret_fields=view.secret_fields,
                          key_id=view.key_id, created_at=view.created_at, updated_at=view.updated_at)


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


@router.post("/{provider}/test", response_model=IntegrationTestOut)
async def test_integration(provider: str, principal: CurrentPrincipal, gw: GatewayDep) -> IntegrationTestOut:
    result = await gw.integrations.test(principal, provider)
    return IntegrationTestOut(ok=result.ok, error=result.error, status=result.status)
