"""Agents (owned by agent-runtime): CRUD, publish (guarded by the agent's tests), versions, embed snippet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field

from afo_common.rpcs.agent_runtime import AgentVersionView, AgentView
from afo_common.rpcs.agent_runtime_channels import PhoneNumbersView
from afo_common.rpcs.agent_spec import AgentPatch, AgentSpec
from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import Reply, Write
from afo_gateway.entrypoints.http.openapi import problem_responses
from afo_gateway.entrypoints.http.schemas import AgentOut, AgentVersionOut

router = APIRouter(prefix="/v1/agents", tags=["agents"])

AGENT_EXAMPLE = {
    "name": "Ava",
    "role": "sales assistant",
    "persona": "friendly, concise",
    "greeting": "Hi! I'm Ava from Acme.",
    "goals": ["qualify the lead", "book a demo"],
    "qualification_fields": ["name", "email", "company", {"name": "budget", "kind": "budget", "required": False}],
    "timezone": "America/New_York",
    "llm": {"provider": "embedded"},
}
AgentBody = Annotated[AgentSpec, Body(openapi_examples={"agent": {"value": AGENT_EXAMPLE}})]
PatchBody = Annotated[AgentPatch, Body(openapi_examples={"rename": {"value": {"name": "Ava 2"}},
                                                         "clear": {"value": {"greeting": None}}})]


def agent_out(view: AgentView) -> AgentOut:
    return AgentOut.model_validate({**view.spec, "id": view.id, "published_version": view.published_version,
                                    "created_at": view.created_at, "updated_at": view.updated_at})


def version_out(view: AgentVersionView) -> AgentVersionOut:
    return AgentVersionOut.model_validate(view.model_dump())


@router.post("", status_code=201, response_model=AgentOut, responses=problem_responses(402))
async def create_agent(body: AgentBody, write: Write, gw: GatewayDep) -> Response:
    """``qualification_fields`` takes a kind by itself (``"email"`` for ``{"name": "email", "kind":
    "email"}``) or an object, mixed in one list; answers always hold objects. Without ``timezone`` the
    agent gets the tenant's."""
    async def produce() -> Reply:
        return Reply(201, agent_out(await gw.catalog.create_agent(write.principal, body, write.request_id)))

    return await write.run(produce)


@router.get("", response_model=Page[AgentOut])
async def list_agents(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                      cursor: Cursor = None) -> Page[AgentOut]:
    page = await gw.catalog.agents(principal, limit, cursor)
    return Page[AgentOut](data=[agent_out(a) for a in page.data], next_cursor=page.next_cursor)


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> AgentOut:
    return agent_out(await gw.catalog.agent(principal, agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
async def update_agent(agent_id: str, body: PatchBody, principal: CurrentPrincipal, gw: GatewayDep) -> AgentOut:
    """Changes only the fields sent; an explicit null clears a field; ``llm``, ``voice`` and ``channels``
    are replaced whole."""
    return agent_out(await gw.catalog.update_agent(principal, agent_id, body))


@router.delete("/{agent_id}", status_code=204)
async def delete_agent(agent_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    await gw.catalog.delete_agent(principal, agent_id)
    return Response(status_code=204)


@router.post("/{agent_id}/publish", response_model=AgentVersionOut)
async def publish_agent(agent_id: str, write: Write, gw: GatewayDep,
                        override: Annotated[bool, Query(description="publish although the agent's tests failed "
                                                                    "or were not run on this draft")] = False
                        ) -> Response:
    """Makes the draft a new version. An agent with tests (``/v1/agents/{id}/tests``) needs a run of this draft
    that passed them all: otherwise a 409 (``agent-tests-failing``) whose ``failing_tests`` name them, unless
    ``override=true``; the version's ``tests`` says which (``passed``, ``overridden``; null without tests)."""
    async def produce() -> Reply:
        return Reply(200, version_out(await gw.agent_tests.publish(write.principal, agent_id, override)))

    return await write.run(produce)


@router.get("/{agent_id}/versions", response_model=Page[AgentVersionOut])
async def list_versions(agent_id: str, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                        cursor: Cursor = None) -> Page[AgentVersionOut]:
    page = await gw.catalog.versions(principal, agent_id, limit, cursor)
    return Page[AgentVersionOut](data=[version_out(v) for v in page.data], next_cursor=page.next_cursor)


class PhoneNumbersBody(BaseModel):
    numbers: list[Annotated[str, Field(min_length=3, max_length=32)]] = Field(
        max_length=20, description="E.164 numbers (+ and the country code); [] removes them all")


@router.put("/{agent_id}/phone-numbers", response_model=PhoneNumbersView)
async def put_phone_numbers(agent_id: str, body: PhoneNumbersBody, principal: CurrentPrincipal,
                            gw: GatewayDep) -> PhoneNumbersView:
    """The numbers this agent answers (SMS to them become its conversations; point each number's Twilio
    messaging webhook at ``POST /twilio/sms``). Replaces the list; a number another agent holds, of this tenant
    or any other, is a 409."""
    return await gw.phone_numbers.put(principal, agent_id, body.numbers)


@router.get("/{agent_id}/phone-numbers", response_model=PhoneNumbersView)
async def get_phone_numbers(agent_id: str, principal: CurrentPrincipal, gw: GatewayDep) -> PhoneNumbersView:
    return await gw.phone_numbers.get(principal, agent_id)
