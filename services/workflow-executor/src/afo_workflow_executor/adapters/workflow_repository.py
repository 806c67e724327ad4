"""Queries on workflows, their runs and run steps. Every method is scoped to one tenant but ``due``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_workflow_executor.adapters.tables import workflow_run_steps, workflow_runs, workflows
from afo_workflow_executor.domain.workflows import RunRow, StepRow, WorkflowRow

_WORKFLOW = ("name", "instruction", "status", "builtin", "engine", "trigger", "spec", "notify", "request_id",
             "created_at", "updated_at")
_RUN = ("tenant_id", "workflow_id", "event_id", "event_type", "lead_id", "status", "next_step", "context",
        "created_at", "updated_at", "reason", "resume_at")
_STEP = ("tenant_id", "type", "idempotency_key", "status", "input", "output", "error", "started_at", "finished_at")


def _workflow(r: Any) -> WorkflowRow:
    return WorkflowRow(id=r.id, tenant_id=r.tenant_id, **{n: getattr(r, n) for n in _WORKFLOW})


def _run(r: Any) -> RunRow:
    return RunRow(id=r.id, **{n: getattr(r, n) for n in _RUN})


def _step(r: Any) -> StepRow:
    return StepRow(run_id=r.run_id, index=r.index, **{n: getattr(r, n) for n in _STEP})


class WorkflowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: WorkflowRow) -> None:
        await self._session.execute(insert(workflows).values(
            tenant_id=row.tenant_id, id=row.id, **{n: getattr(row, n) for n in _WORKFLOW}))

    async def get(self, tenant_id: str, workflow_id: str) -> WorkflowRow | None:
        result = await self._session.execute(
            select(workflows).where(workflows.c.tenant_id == tenant_id, workflows.c.id == workflow_id))
        row = result.first()
        return _workflow(row) if row else None

    async def by_request(self, tenant_id: str, request_id: str) -> WorkflowRow | None:
        result = await self._session.execute(
            select(workflows).where(workflows.c.tenant_id == tenant_id, workflows.c.request_id == request_id))
        row = result.first()
        return _workflow(row) if row else None

    async def page(self, tenant_id: str, limit: int, after: str | None) -> list[WorkflowRow]:
        query = select(workflows).where(workflows.c.tenant_id == tenant_id)
        if after:
            query = query.where(workflows.c.id > after)
        result = await self._session.execute(query.order_by(workflows.c.id).limit(limit))
        return [_workflow(r) for r in result]

    async def enabled(self, tenant_id: str, trigger: str) -> list[WorkflowRow]:
        result = await self._session.execute(
            select(workflows).where(workflows.c.tenant_id == tenant_id, workflows.c.trigger == trigger,
                                    workflows.c.status == "enabled").order_by(workflows.c.id))
        return [_workflow(r) for r in result]

    async def builtin_ids(self, tenant_id: str) -> set[str]:
        result = await self._session.execute(
            select(workflows.c.id).where(workflows.c.tenant_id == tenant_id, workflows.c.builtin.is_(True)))
        return {row.id for row in result}

    async def set_status(self, tenant_id: str, workflow_id: str, status: str, now: datetime) -> WorkflowRow | None:
        await self._session.execute(
            update(workflows).where(workflows.c.tenant_id == tenant_id, workflows.c.id == workflow_id)
            .values(status=status, updated_at=now))
        return await self.get(tenant_id, workflow_id)

    async def delete(self, tenant_id: str, workflow_id: str) -> None:
        runs = select(workflow_runs.c.id).where(workflow_runs.c.tenant_id == tenant_id,
                                                 workflow_runs.c.workflow_id == workflow_id)
        await self._session.execute(delete(workflow_run_steps).where(
            workflow_run_steps.c.tenant_id == tenant_id, workflow_run_steps.c.run_id.in_(runs)))
        await self._session.execute(delete(workflow_runs).where(
            workflow_runs.c.tenant_id == tenant_id, workflow_runs.c.workflow_id == workflow_id))
        await self._session.execute(delete(workflows).where(
            workflows.c.tenant_id == tenant_id, workflows.c.id == workflow_id))

    async def run(self, tenant_id: str, run_id: str) -> RunRow | None:
        result = await self._session.execute(
            select(workflow_runs).where(workflow_runs.c.tenant_id == tenant_id, workflow_runs.c.id == run_id))
        row = result.first()
        return _run(row) if row else None

    async def save_run(self, row: RunRow) -> None:
        values = {n: getattr(row, n) for n in _RUN}
        updated = await self._session.execute(
            update(workflow_runs).where(workflow_runs.c.id == row.id, workflow_runs.c.tenant_id == row.tenant_id)
            .values(**values))
        if not getattr(updated, "rowcount", 0):
            await self._session.execute(insert(workflow_runs).values(id=row.id, **values))

    async def runs(self, tenant_id: str, workflow_id: str, limit: int, before: str | None) -> list[RunRow]:
        query = select(workflow_runs).where(workflow_runs.c.tenant_id == tenant_id,
                                            workflow_runs.c.workflow_id == workflow_id)
        if before:
            micros, _, run_id = before.partition("|")
            at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC) if micros.isdigit() else datetime.max
            query = query.where(or_(workflow_runs.c.created_at < at,
                                    and_(workflow_runs.c.created_at == at, workflow_runs.c.id < run_id)))
        result = await self._session.execute(
            query.order_by(workflow_runs.c.created_at.desc(), workflow_runs.c.id.desc()).limit(limit))
        return [_run(r) for r in result]

    async def steps(self, tenant_id: str, run_ids: list[str]) -> list[StepRow]:
        if not run_ids:
            return []
        result = await self._session.execute(
            select(workflow_run_steps)
            .where(workflow_run_steps.c.tenant_id == tenant_id, workflow_run_steps.c.run_id.in_(run_ids))
            .order_by(workflow_run_steps.c.run_id, workflow_run_steps.c.index))
        return [_step(r) for r in result]

    async def save_step(self, row: StepRow) -> None:
        values = {n: getattr(row, n) for n in _STEP}
        updated = await self._session.execute(
            update(workflow_run_steps)
            .where(workflow_run_steps.c.run_id == row.run_id, workflow_run_steps.c.index == row.index)
            .values(**values))
        if not getattr(updated, "rowcount", 0):
            await self._session.execute(insert(workflow_run_steps).values(run_id=row.run_id, index=row.index,
                                                                           **values))

    async def due(self, now: datetime, limit: int) -> list[RunRow]:
        result = await self._session.execute(
            select(workflow_runs).where(workflow_runs.c.status == "waiting", workflow_runs.c.resume_at <= now)
            .order_by(workflow_runs.c.resume_at).limit(limit))
        return [_run(r) for r in result]

    async def claim(self, tenant_id: str, run_id: str, now: datetime) -> bool:
        claimed = await self._session.execute(
            update(workflow_runs)
            .where(workflow_runs.c.tenant_id == tenant_id, workflow_runs.c.id == run_id,
                   workflow_runs.c.status == "waiting", workflow_runs.c.resume_at <= now)
            .values(status="running", updated_at=now))
        return bool(getattr(claimed, "rowcount", 0))
