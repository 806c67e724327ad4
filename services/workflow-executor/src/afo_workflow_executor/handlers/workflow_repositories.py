"""What workflows need of storage (``uow.workflows``), and the unit of work that runs them: the workflows and
their runs, the CRM lead projection (conditions read the lead), and ``emit``. ``adapters/workflow_repository.py``
implements it on the database. Every method takes the tenant, except ``due``: the poller that resumes
waiting runs reads every tenant's."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events
from afo_workflow_executor.domain.workflows import RunRow, StepRow, WorkflowRow
from afo_workflow_executor.handlers.crm_repositories import CrmLeads


class Workflows(Protocol):
    async def add(self, row: WorkflowRow) -> None:
        """Raises on a second workflow with the same id or request id."""
        ...

    async def get(self, tenant_id: str, workflow_id: str) -> WorkflowRow | None: ...

    async def by_request(self, tenant_id: str, request_id: str) -> WorkflowRow | None: ...

    async def page(self, tenant_id: str, limit: int, after: str | None) -> list[WorkflowRow]:
        """By id, those after ``after``."""
        ...

    async def enabled(self, tenant_id: str, trigger: str) -> list[WorkflowRow]: ...

    async def builtin_ids(self, tenant_id: str) -> set[str]: ...

    async def set_status(self, tenant_id: str, workflow_id: str, status: str, now: datetime) -> WorkflowRow | None:
        ...

    async def delete(self, tenant_id: str, workflow_id: str) -> None:
        """The workflow with its runs and their steps."""
        ...

    async def run(self, tenant_id: str, run_id: str) -> RunRow | None: ...

    async def save_run(self, row: RunRow) -> None:
        """Inserts the run, or replaces what is stored of it."""
        ...

    async def runs(self, tenant_id: str, workflow_id: str, limit: int, before: str | None) -> list[RunRow]:
        """Newest first; ``before`` is a cursor ``runs_cursor`` made."""
        ...

    async def steps(self, tenant_id: str, run_ids: list[str]) -> list[StepRow]:
        """In run and index order."""
        ...

    async def save_step(self, row: StepRow) -> None: ...

    async def due(self, now: datetime, limit: int) -> list[RunRow]:
        """Waiting runs whose time has come, of every tenant, earliest first."""
        ...

    async def claim(self, tenant_id: str, run_id: str, now: datetime) -> bool:
        """The waiting run turned ``running`` by this call (a conditional update: one caller wins)."""
        ...


class WorkflowRepositories(Protocol):
    @property
    def workflows(self) -> Workflows: ...

    @property
    def crm_leads(self) -> CrmLeads: ...


class WorkflowUnitOfWork(WorkflowRepositories, Events, Protocol):
    """The repositories in one transaction, with its events."""


WorkflowStore = GenericStore[WorkflowUnitOfWork, WorkflowRepositories]


def runs_cursor(row: RunRow) -> str:
    return f"{int(row.created_at.timestamp() * 1_000_000)}|{row.id}"
