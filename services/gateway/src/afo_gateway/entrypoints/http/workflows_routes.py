"""Workflows in plain language (owned by workflow-executor): an instruction compiled into reviewable steps
(trigger, conditions, actions), created as a draft, enabled or disabled, deleted; each workflow's runs step by
step with inputs, outputs and errors. The default funnel's workflows are listed beside the tenant's own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_workflows import Deleted, WorkflowRunView, WorkflowView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import Reply, Write
from afo_gateway.handlers.workflows import WorkflowBody, Workflows

router = APIRouter(prefix="/v1/workflows", tags=["workflows"])

WorkflowId = Annotated[str, Path(max_length=64)]


def _workflows(gw: GatewayDep) -> Workflows:
    return Workflows(gw.owners, gw.audit)


@router.post("", status_code=201, response_model=WorkflowView, responses={422: {
    "description": "the instruction cannot be compiled entirely: ``unrecognized`` lists each word not "
                   "understood with its offsets, ``missing`` the parts it lacks; nothing was created"}})
async def create_workflow(body: WorkflowBody, write: Write, gw: GatewayDep) -> Response:
    """Compiles ``instruction`` (with the tenant's LLM when an ``openai`` integration is connected, else the
    embedded compiler: docs/workflows.md) into a ``draft``: review ``spec``, then enable it."""

    async def produce() -> Reply:
        return Reply(201, await _workflows(gw).create(write.principal, body, write.request_id))

    return await write.run(produce)


@router.get("", response_model=Page[WorkflowView])
async def list_workflows(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                         cursor: Cursor = None) -> Page[WorkflowView]:
    """The tenant's workflows with the default funnel's (``builtin``)."""
    return await _workflows(gw).list(principal, limit, cursor)


@router.get("/{workflow_id}", response_model=WorkflowView)
async def get_workflow(workflow_id: WorkflowId, principal: CurrentPrincipal, gw: GatewayDep) -> WorkflowView:
    return await _workflows(gw).get(principal, workflow_id)


@router.post("/{workflow_id}/enable", response_model=WorkflowView)
async def enable_workflow(workflow_id: WorkflowId, write: Write, gw: GatewayDep) -> WorkflowView:
    """From now on it runs on its trigger's events."""
    return await _workflows(gw).set_status(write.principal, workflow_id, "enabled")


@router.post("/{workflow_id}/disable", response_model=WorkflowView)
async def disable_workflow(workflow_id: WorkflowId, write: Write, gw: GatewayDep) -> WorkflowView:
    """No new runs; a run waiting carries on. Disabling the default funnel's stops what it does (CRM sync)."""
    return await _workflows(gw).set_status(write.principal, workflow_id, "disabled")


@router.delete("/{workflow_id}", response_model=Deleted)
async def delete_workflow(workflow_id: WorkflowId, write: Write, gw: GatewayDep) -> Deleted:
    """The workflow and its runs; the default funnel's cannot be deleted (409): disable it."""
    return await _workflows(gw).delete(write.principal, workflow_id)


@router.get("/{workflow_id}/runs", response_model=Page[WorkflowRunView])
async def list_runs(workflow_id: WorkflowId, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                    cursor: Cursor = None) -> Page[WorkflowRunView]:
    """Newest first: the event that started each run, its status, and every step's input, output and error."""
    return await _workflows(gw).runs(principal, workflow_id, limit, cursor)
