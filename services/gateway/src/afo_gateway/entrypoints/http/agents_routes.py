"""Agents (owned by agent-runtime): CRUD, publish, versions, embed snippet."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from afo_common.rpcs.agent_runtime import AgentView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import Reply, Write
from afo_gateway.entrypoints.http.schemas import PageOut

router = APIRouter(prefix="/v1/agents", tags=["agents"])

AGENT_EXAMPLE = {
    "name": "Ava",
    "role": "sales assistant",
    "persona": "friendly, concise",
    "greeting": "Hi! I'm Ava from Acme.",
    "goals": ["qualify the lead", "book a demo"],
    "qualification_fields": [{"name": "email", "kind": "email"}, {"name": "company", "kind": "company"},
                             {"name": "budget", "kind": "budget", "required": False}],
    "timezone": "America/New_York",
    "llm": {"provider": "embedded"},
}
AgentBody = Annotated[dict[str, Any], Body(openapi_examples={"agent": {"value": AGENT_EXAMPLE}})]


def agent_out(view: AgentView) -> dict[str, Any]:
    return {"id": view.id, **view.spec, "published_version": view.published_version,
            "created_at": view.created_at.isoformat(), "updated_at": view.updated_at.isoformat()}


@router.post("", status_code=201)
async def create_agent(body: AgentBody, write: Write, gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        return Reply(201, agent_out(await gw.catalog.create_agent(write.principal, body, write.request_id)))

    return await write.run(produce)


@router.get("", response_model=PageOut)
async def list_agents(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                      cursor: Cursor = None) -> PageOut:
    page = await gw.catalog.agents(principal, limit, cursor)
    return PageOut(data=[agent_out(a) for a in page.data], next_cursor=page.next_cursor)


@router.get("/{agent_id}")
async def get_agent(agent_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> dict[str, Any]:
    return agent_out(await gw.catalog.agent(principal, agent_id))


@router.patch("/{agent_id}")
async def update_agent(agent_id: str, body: AgentBody, principal: CurrentPrincipal,
                       gw: GatewayDep) -> dict[str, Any]:
    return agent_out(await gw.catalog.update_agent(principal, agent_id, body))


@router.delete("/{agent_id}", status_code=204)
async def delete_agent(agent_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    await gw.catalog.delete_agent(principal, agent_id)
    return Response(status_code=204)


@router.post("/{agent_id}/publish")
async def publish_agent(agent_id: str, write: Write, gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        return Reply(200, await gw.catalog.publish_agent(write.principal, agent_id))

    return await write.run(produce)


@router.get("/{agent_id}/versions", response_model=PageOut)
async def list_versions(agent_id: str, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                        cursor: Cursor = None) -> PageOut:
    page = await gw.catalog.versions(principal, agent_id, limit, cursor)
    return PageOut(data=[v.model_dump(mode="json") for v in page.data], next_cursor=page.next_cursor)
