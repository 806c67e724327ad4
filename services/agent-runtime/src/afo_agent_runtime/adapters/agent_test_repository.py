"""Queries on agent tests and their runs. Every method is scoped to one tenant and one agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.tables import agent_test_runs, agent_tests
from afo_agent_runtime.domain.errors import AlreadyCreated


@dataclass(frozen=True)
class AgentTestRow:
    id: str
    tenant_id: str
    agent_id: str
    name: str
    channel: str
    turns: list[str]
    expectations: list[dict[str, Any]]
    created_at: datetime
    request_id: str | None = None


@dataclass(frozen=True)
class AgentTestRunRow:
    id: str
    tenant_id: str
    agent_id: str
    spec_digest: str
    status: str
    passed: int
    failed: int
    verdicts: dict[str, bool]  # test id -> passed
    results: list[dict[str, Any]]  # AgentTestResult, as JSON
    started_at: datetime
    duration_ms: int


@dataclass(frozen=True)
class Verdicts:
    """What publishing reads of a run: which tests passed."""

    run_id: str
    passed: dict[str, bool]


def _test(row: Any) -> AgentTestRow:
    return AgentTestRow(row.id, row.tenant_id, row.agent_id, row.name, row.channel, row.turns, row.expectations,
                        row.created_at, row.request_id)


def _run(row: Any, results: list[dict[str, Any]] | None = None) -> AgentTestRunRow:
    return AgentTestRunRow(row.id, row.tenant_id, row.agent_id, row.spec_digest, row.status, row.passed, row.failed,
                      row.verdicts, row.results if results is None else results, row.started_at, row.duration_ms)


_SUMMARY = [c for c in agent_test_runs.c if c.name != "results"]


class AgentTestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: AgentTestRow) -> None:
        """Raises ``AlreadyCreated`` when the tenant has a test with the row's request id."""
        try:
            await self._session.execute(insert(agent_tests).values(
                id=row.id, tenant_id=row.tenant_id, agent_id=row.agent_id, name=row.name, channel=row.channel,
                turns=row.turns, expectations=row.expectations, created_at=row.created_at, request_id=row.request_id))
        except IntegrityError as exc:
            if row.request_id is None:
                raise
            raise AlreadyCreated("test", row.request_id) from exc

    async def by_request(self, tenant_id: str, request_id: str) -> AgentTestRow | None:
        result = await self._session.execute(
            select(agent_tests).where(agent_tests.c.tenant_id == tenant_id, agent_tests.c.request_id == request_id))
        row = result.first()
        return _test(row) if row else None

    async def count(self, tenant_id: str, agent_id: str) -> int:
        result = await self._session.execute(select(func.count()).select_from(agent_tests).where(
            agent_tests.c.tenant_id == tenant_id, agent_tests.c.agent_id == agent_id))
        return int(result.scalar_one())

    async def page(self, tenant_id: str, agent_id: str, limit: int, after: str | None) -> list[AgentTestRow]:
        """Oldest first (the order they were written in); ``after``: the id of the last test of the page before."""
        t = agent_tests.c
        mine = (t.tenant_id == tenant_id, t.agent_id == agent_id)
        query = select(agent_tests).where(*mine)
        if after:
            anchor = select(t.created_at).where(*mine, t.id == after).scalar_subquery()
            query = query.where(or_(t.created_at > anchor, and_(t.created_at == anchor, t.id > after)))
        result = await self._session.execute(query.order_by(t.created_at, t.id).limit(limit))
        return [_test(r) for r in result]

    async def delete(self, tenant_id: str, agent_id: str, test_id: str) -> bool:
        result = await self._session.execute(delete(agent_tests).where(
            agent_tests.c.tenant_id == tenant_id, agent_tests.c.agent_id == agent_id, agent_tests.c.id == test_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_run(self, row: AgentTestRunRow, keep: int) -> None:
        """Records the run and drops the agent's runs older than its ``keep`` newest."""
        await self._session.execute(insert(agent_test_runs).values(
            id=row.id, tenant_id=row.tenant_id, agent_id=row.agent_id, spec_digest=row.spec_digest,
            status=row.status, passed=row.passed, failed=row.failed, verdicts=row.verdicts, results=row.results,
            started_at=row.started_at, duration_ms=row.duration_ms))
        mine = (agent_test_runs.c.tenant_id == row.tenant_id, agent_test_runs.c.agent_id == row.agent_id)
        kept = select(agent_test_runs.c.id).where(*mine).order_by(agent_test_runs.c.id.desc()).limit(keep)
        await self._session.execute(delete(agent_test_runs).where(*mine, agent_test_runs.c.id.not_in(kept)))

    async def runs(self, tenant_id: str, agent_id: str, limit: int, before: str | None) -> list[AgentTestRunRow]:
        """Newest first, without their results (``results`` empty)."""
        query = select(*_SUMMARY).where(agent_test_runs.c.tenant_id == tenant_id,
                                        agent_test_runs.c.agent_id == agent_id)
        if before:
            query = query.where(agent_test_runs.c.id < before)
        result = await self._session.execute(query.order_by(agent_test_runs.c.id.desc()).limit(limit))
        return [_run(r, []) for r in result]

    async def run(self, tenant_id: str, agent_id: str, run_id: str) -> AgentTestRunRow | None:
        result = await self._session.execute(select(agent_test_runs).where(
            agent_test_runs.c.tenant_id == tenant_id, agent_test_runs.c.agent_id == agent_id,
            agent_test_runs.c.id == run_id))
        row = result.first()
        return _run(row) if row else None

    async def latest_verdicts(self, tenant_id: str, agent_id: str, spec_digest: str) -> Verdicts | None:
        """The newest run of the agent against the configuration with this digest."""
        result = await self._session.execute(
            select(agent_test_runs.c.id, agent_test_runs.c.verdicts)
            .where(agent_test_runs.c.tenant_id == tenant_id, agent_test_runs.c.agent_id == agent_id,
                   agent_test_runs.c.spec_digest == spec_digest)
            .order_by(agent_test_runs.c.id.desc()).limit(1))
        row = result.first()
        return Verdicts(row.id, dict(row.verdicts)) if row else None
