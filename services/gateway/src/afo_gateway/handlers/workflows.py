"""The tenant's workflows, owned by workflow-executor: the gateway checks the caller may read (or write), then
asks the owner over RPC (which answers 404 for another tenant's ids). An instruction the compiler refuses
comes back as 422 with, beside ``errors[]``, ``unrecognized`` (each word not understood, with its offsets in
the instruction) and ``missing`` (the parts the instruction lacks, or why its steps cannot be kept)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from afo_common.ids import new_id
from afo_common.rpcs import workflow_executor_workflows as wf
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import Invalid
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.owners import Owners


class WorkflowBody(BaseModel):
    instruction: str = Field(min_length=1, max_length=wf.MAX_INSTRUCTION, examples=[
        "when a lead is qualified with budget over 10k, book a demo on the sales calendar and text me"])
    notify: wf.Notify = Field(default=wf.Notify(), description="who \"me\" is: your phone (E.164) and email")


class NotCompiled(Invalid):
    """The instruction cannot be compiled entirely: nothing was created."""

    slug, title = "instruction-not-understood", "Instruction not understood"

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail, errors)
        self.unrecognized = [{"word": e["msg"], "start": e["loc"][-2], "end": e["loc"][-1]}
                             for e in errors if e.get("type") == "unrecognized" and len(e.get("loc", [])) >= 2]
        self.missing = [e["msg"] for e in errors if e.get("type") != "unrecognized"]

    @property
    def extensions(self) -> dict[str, Any]:
        return {"unrecognized": self.unrecognized, "missing": self.missing}


class Workflows:
    def __init__(self, owners: Owners, audit: AuditTrail) -> None:
        self._owners = owners
        self._audit = audit

    async def create(self, principal: Principal, body: WorkflowBody, request_id: str | None = None) -> wf.WorkflowView:
        require(principal, Permission.WRITE)
        request = wf.CreateWorkflow(tenant_id=principal.tenant_id, instruction=body.instruction,
                                    notify=body.notify, request_id=request_id or new_id("req"))
        try:
            workflow = await self._owners.create(wf.CREATE_WORKFLOW, request)
        except Invalid as exc:
            raise NotCompiled(exc.detail, exc.errors) from exc
        await self._audit.changed(principal, "workflow.create", workflow.id)
        return workflow

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> Page[wf.WorkflowView]:
        require(principal, Permission.READ)
        return await self._owners.call(wf.LIST_WORKFLOWS, wf.ListWorkflows(
            tenant_id=principal.tenant_id, limit=limit, cursor=cursor))

    async def get(self, principal: Principal, workflow_id: str) -> wf.WorkflowView:
        require(principal, Permission.READ)
        return await self._owners.call(wf.GET_WORKFLOW, self._ref(principal, workflow_id))

    async def set_status(self, principal: Principal, workflow_id: str,
                         status: Literal["enabled", "disabled"]) -> wf.WorkflowView:
        require(principal, Permission.WRITE)
        workflow = await self._owners.call(wf.SET_WORKFLOW_STATUS, wf.SetWorkflowStatus(
            tenant_id=principal.tenant_id, workflow_id=workflow_id, status=status))
        await self._audit.changed(principal, "workflow.enable" if status == "enabled" else "workflow.disable",
                                  workflow_id)
        return workflow

    async def delete(self, principal: Principal, workflow_id: str) -> wf.Deleted:
        require(principal, Permission.WRITE)
        deleted = await self._owners.call(wf.DELETE_WORKFLOW, self._ref(principal, workflow_id))
        await self._audit.changed(principal, "workflow.delete", workflow_id)
        return deleted

    async def runs(self, principal: Principal, workflow_id: str, limit: int,
                   cursor: str | None) -> Page[wf.WorkflowRunView]:
        require(principal, Permission.READ)
        return await self._owners.call(wf.LIST_WORKFLOW_RUNS, wf.ListWorkflowRuns(
            tenant_id=principal.tenant_id, workflow_id=workflow_id, limit=limit, cursor=cursor))

    @staticmethod
    def _ref(principal: Principal, workflow_id: str) -> wf.WorkflowRef:
        return wf.WorkflowRef(tenant_id=principal.tenant_id, workflow_id=workflow_id)
