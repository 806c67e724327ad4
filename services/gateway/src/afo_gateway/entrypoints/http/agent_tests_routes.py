"""Agent tests (owned by agent-runtime): scripted conversations with expectations, run against an agent's draft
before it is published (``POST /v1/agents/{id}/publish`` refuses with 409 while they fail)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from afo_common.rpcs.agent_tests import AgentTestRunSummary, AgentTestRunView, AgentTestSpec, AgentTestView
from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import Reply, Write

router = APIRouter(prefix="/v1/agents/{agent_id}/tests", tags=["agent tests"])

AgentId = Annotated[str, Path(max_length=64)]
ItemId = Annotated[str, Path(max_length=64)]
TEST_EXAMPLE = {
    "name": "answers pricing from the price list",
    "turns": ["Hi, I'm Dana from Acme", "How much is the Pro plan?"],
    "expectations": [{"type": "cites_document", "document": "Price list"},
                     {"type": "fields_filled", "fields": ["name", "company"]}],
}
TestBody = Annotated[AgentTestSpec, Body(openapi_examples={"test": {"value": TEST_EXAMPLE}})]


@router.post("", status_code=201, response_model=AgentTestView)
async def create_test(agent_id: AgentId, body: TestBody, write: Write, gw: GatewayDep) -> Response:
    """A scripted conversation: up to 30 turns of the lead (500 characters each; a ``voice`` test's are spoken
    and recognised first) and 1 to 20 expectations — ``fields_filled`` {fields}, ``meeting_requested``,
    ``cites_document`` {document: id or title}, ``handoff_offered``, ``opt_out_respected``, ``reply_contains``
    {text, turn?}. At most 50 per agent (409 past that); a field the agent does not collect is a 422."""
    async def produce() -> Reply:
        return Reply(201, await gw.agent_tests.create(write.principal, agent_id, body, write.request_id))

    return await write.run(produce)


@router.get("", response_model=Page[AgentTestView])
async def list_tests(agent_id: AgentId, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                     cursor: Cursor = None) -> Page[AgentTestView]:
    """Oldest first."""
    return await gw.agent_tests.tests(principal, agent_id, limit, cursor)


@router.delete("/{test_id}", status_code=204)
async def delete_test(agent_id: AgentId, test_id: ItemId, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    await gw.agent_tests.delete(principal, agent_id, test_id)
    return Response(status_code=204)


@router.post("/run", response_model=AgentTestRunView)
async def run_tests(agent_id: AgentId, write: Write, gw: GatewayDep) -> Response:
    """Plays every test against the agent's current draft (not its published version) and answers with the run
    once it is over: each test's transcript and each expectation's verdict with its reason. Nothing a real
    conversation would do happens: no conversation or lead is recorded, no event is sent, no meeting is booked
    (``meeting_requested`` is the agent deciding to ask the calendar). A test still playing after 60 s fails."""
    async def produce() -> Reply:
        return Reply(200, await gw.agent_tests.run(write.principal, agent_id))

    return await write.run(produce)


@router.get("/runs", response_model=Page[AgentTestRunSummary])
async def list_runs(agent_id: AgentId, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                    cursor: Cursor = None) -> Page[AgentTestRunSummary]:
    """Newest first, without their results; the 20 newest runs are kept."""
    return await gw.agent_tests.runs(principal, agent_id, limit, cursor)


@router.get("/runs/{run_id}", response_model=AgentTestRunView)
async def get_run(agent_id: AgentId, run_id: ItemId, principal: CurrentPrincipal, gw: GatewayDep) -> AgentTestRunView:
    return await gw.agent_tests.run_detail(principal, agent_id, run_id)
