"""The tenant's workflows over RPC (``afo_common.rpcs.workflow_executor_workflows``): create from an instruction,
list, read, enable or disable, delete, and the runs of one.

Rules:
- An instruction is compiled by the tenant's LLM when the tenant has an ``openai`` credential in the vault
  (its proposal validated against ``WorkflowSpec``'s schema, refused when it does not fit), else — and when
  the LLM cannot be reached — by the embedded compiler (``domain/workflows_compiler.py``). Either way, a
  refusal creates nothing and says why (``Refused`` → ``Invalid`` with the words and the parts missing).
- A create carries a request id: asked again with it, it answers the workflow the first call made.
- The default funnel (``DEFAULT_FUNNEL``) is seeded for a tenant the first time its workflows are listed or
  an event of it is run (``ensure_defaults``); its workflows are enabled, and ``builtin`` (not deletable).
"""

from __future__ import annotations

from typing import Protocol

from afo_common.clock import Clock
from afo_common.ids import new_id
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_workflows import (
    CreateWorkflow,
    Deleted,
    ListWorkflowRuns,
    ListWorkflows,
    RunStepView,
    SetWorkflowStatus,
    WorkflowRef,
    WorkflowRunView,
    WorkflowSpec,
    WorkflowView,
)
from afo_workflow_executor.domain.workflows import DEFAULT_FUNNEL, RunRow, StepRow, WorkflowRow, refusal
from afo_workflow_executor.domain.workflows_compiler import Refused, compile_instruction
from afo_workflow_executor.handlers.errors import NotFound
from afo_workflow_executor.handlers.workflow_repositories import WorkflowStore, runs_cursor


class Proposals(Protocol):
    async def propose(self, tenant_id: str, instruction: str) -> WorkflowSpec | Refused | None:
        """The tenant's LLM's proposal, validated; None when the tenant has no LLM (or it cannot be reached)."""
        ...


class NoProposals:
    async def propose(self, tenant_id: str, instruction: str) -> WorkflowSpec | Refused | None:
        return None


class NotCompiled(Exception):
    """The instruction cannot be compiled entirely (or its steps cannot be kept): nothing was created."""

    def __init__(self, refused: Refused, engine: str) -> None:
        super().__init__(f"the instruction cannot be compiled entirely ({engine}): "
                         + "; ".join([*(f"{u.word!r} at {u.start}" for u in refused.unrecognized),
                                      *refused.missing]))
        self.refused, self.engine = refused, engine


class Conflict(Exception):
    """The request contradicts what the workflow is (a builtin workflow cannot be deleted)."""


def view(row: WorkflowRow) -> WorkflowView:
    return WorkflowView.model_validate({
        "id": row.id, "name": row.name, "instruction": row.instruction, "status": row.status,
        "builtin": row.builtin, "engine": row.engine, "spec": row.spec, "notify": row.notify,
        "created_at": row.created_at, "updated_at": row.updated_at})


def run_view(row: RunRow, steps: list[StepRow]) -> WorkflowRunView:
    return WorkflowRunView(
        id=row.id, workflow_id=row.workflow_id, event_id=row.event_id, event_type=row.event_type,
        lead_id=row.lead_id, status=row.status,
        reason=row.reason, resume_at=row.resume_at, created_at=row.created_at, updated_at=row.updated_at,
        steps=[RunStepView(index=s.index, type=s.type, idempotency_key=s.idempotency_key,
                           status=s.status,
                           input=s.input, output=s.output, error=s.error, started_at=s.started_at,
                           finished_at=s.finished_at) for s in steps])


class WorkflowBook:
    def __init__(self, store: WorkflowStore, clock: Clock, proposals: Proposals | None = None) -> None:
        self._store = store
        self._clock = clock
        self._proposals = proposals or NoProposals()
        self._seeded: set[str] = set()

    async def ensure_defaults(self, tenant_id: str) -> None:
        """Seeds the funnel's workflows the tenant does not have yet (all of them at first; one added to the
        funnel by a later release, for a tenant seeded before)."""
        if tenant_id in self._seeded:
            return
        async with self._store.reading() as repos:
            held = await repos.workflows.builtin_ids(tenant_id)
        missing = [(workflow_id, text) for workflow_id, text in DEFAULT_FUNNEL if workflow_id not in held]
        if missing:
            now = self._clock.now()
            try:
                async with self._store() as uow:
                    for workflow_id, instruction in missing:
                        spec = compile_instruction(instruction)
                        assert isinstance(spec, WorkflowSpec), instruction  # the funnel is in the grammar
                        await uow.workflows.add(WorkflowRow(
                            workflow_id, tenant_id, f"Default funnel: {instruction}", instruction, "enabled", True,
                            "embedded", spec.trigger, spec.model_dump(mode="json"), {}, workflow_id, now, now))
            except Exception:  # another replica or request seeded them first: its rows stand
                async with self._store.reading() as repos:
                    if not {i for i, _ in DEFAULT_FUNNEL} <= await repos.workflows.builtin_ids(tenant_id):
                        raise
        self._seeded.add(tenant_id)

    async def _compiled(self, tenant_id: str, instruction: str) -> tuple[WorkflowSpec, str]:
        proposed = await self._proposals.propose(tenant_id, instruction)
        engine = "embedded" if proposed is None else "openai"
        compiled = compile_instruction(instruction) if proposed is None else proposed
        if isinstance(compiled, Refused):
            raise NotCompiled(compiled, engine)
        return compiled, engine

    async def create(self, request: CreateWorkflow) -> WorkflowView:
        tenant_id = request.tenant_id
        async with self._store.reading() as repos:
            found = await repos.workflows.by_request(tenant_id, request.request_id)
        if found is not None:
            return view(found)
        # Compiled as written: the offsets of the words it refuses are offsets in the tenant's own text.
        instruction = request.instruction
        spec, engine = await self._compiled(tenant_id, instruction)
        notify = request.notify.model_dump(mode="json")
        why = refusal(spec, notify)
        if why is not None:
            raise NotCompiled(Refused((), (why,)), engine)
        now = self._clock.now()
        name = " ".join(instruction.split())[:120]
        row = WorkflowRow(new_id("wf"), tenant_id, name, instruction, "draft", False, engine,
                          spec.trigger, spec.model_dump(mode="json"), notify, request.request_id, now, now)
        async with self._store() as uow:
            await uow.workflows.add(row)
        return view(row)

    async def list(self, request: ListWorkflows) -> Page[WorkflowView]:
        await self.ensure_defaults(request.tenant_id)
        async with self._store.reading() as repos:
            rows = await repos.workflows.page(request.tenant_id, request.limit, request.cursor)
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[WorkflowView](data=[view(r) for r in rows], next_cursor=next_cursor)

    async def _get(self, tenant_id: str, workflow_id: str) -> WorkflowRow:
        await self.ensure_defaults(tenant_id)
        async with self._store.reading() as repos:
            row = await repos.workflows.get(tenant_id, workflow_id)
        if row is None:
            raise NotFound(f"workflow {workflow_id} not found")
        return row

    async def get(self, request: WorkflowRef) -> WorkflowView:
        return view(await self._get(request.tenant_id, request.workflow_id))

    async def set_status(self, request: SetWorkflowStatus) -> WorkflowView:
        await self._get(request.tenant_id, request.workflow_id)
        async with self._store() as uow:
            row = await uow.workflows.set_status(request.tenant_id, request.workflow_id, request.status,
                                                 self._clock.now())
        if row is None:
            raise NotFound(f"workflow {request.workflow_id} not found")
        return view(row)

    async def delete(self, request: WorkflowRef) -> Deleted:
        row = await self._get(request.tenant_id, request.workflow_id)
        if row.builtin:
            raise Conflict(f"workflow {row.id} is part of the default funnel: disable it instead")
        async with self._store() as uow:
            await uow.workflows.delete(request.tenant_id, request.workflow_id)
        return Deleted(id=row.id)

    async def runs(self, request: ListWorkflowRuns) -> Page[WorkflowRunView]:
        await self._get(request.tenant_id, request.workflow_id)
        async with self._store.reading() as repos:
            rows = await repos.workflows.runs(request.tenant_id, request.workflow_id, request.limit, request.cursor)
            steps = await repos.workflows.steps(request.tenant_id, [r.id for r in rows])
        by_run: dict[str, list[StepRow]] = {}
        for step in steps:
            by_run.setdefault(step.run_id, []).append(step)
        next_cursor = runs_cursor(rows[-1]) if len(rows) == request.limit else None
        return Page[WorkflowRunView](data=[run_view(r, by_run.get(r.id, [])) for r in rows],
                                     next_cursor=next_cursor)
