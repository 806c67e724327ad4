"""Queries on agents and their published versions. Every method is scoped to one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.tables import agent_versions, agents
from afo_agent_runtime.domain.errors import AlreadyCreated
from afo_common.rpcs.agent_runtime import PublishedTests


@dataclass(frozen=True)
class AgentRow:
    id: str
    tenant_id: str
    spec: dict[str, Any]
    published_version: int | None
    created_at: datetime
    updated_at: datetime
    request_id: str | None = None


@dataclass(frozen=True)
class VersionRow:
    agent_id: str
    version: int
    spec: dict[str, Any]
    published_at: datetime
    tests: PublishedTests | None = None  # None: the agent had no tests
    test_run_id: str | None = None


def _agent(row: Any) -> AgentRow:
    return AgentRow(row.id, row.tenant_id, row.spec, row.published_version, row.created_at, row.updated_at,
                    row.request_id)


def _version(row: Any) -> VersionRow:
    return VersionRow(row.agent_id, row.version, row.spec, row.published_at, cast(PublishedTests | None, row.tests),
                      row.test_run_id)


class AgentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: AgentRow) -> None:
        """A new agent, unpublished. Raises ``AlreadyCreated`` when the tenant has one with its request id."""
        try:
            await self._session.execute(
                insert(agents).values(
                    id=row.id, tenant_id=row.tenant_id, spec=row.spec, published_version=None, deleted=False,
                    created_at=row.created_at, updated_at=row.updated_at, request_id=row.request_id,
                )
            )
        except IntegrityError as exc:
            if row.request_id is None:
                raise
            raise AlreadyCreated("agent", row.request_id) from exc

    async def by_request(self, tenant_id: str, request_id: str) -> AgentRow | None:
        """The agent an earlier create with this request id made (deleted or not: the create happened)."""
        result = await self._session.execute(
            select(agents).where(agents.c.tenant_id == tenant_id, agents.c.request_id == request_id)
        )
        row = result.first()
        return _agent(row) if row else None

    async def get(self, tenant_id: str, agent_id: str) -> AgentRow | None:
        result = await self._session.execute(
            select(agents).where(agents.c.tenant_id == tenant_id, agents.c.id == agent_id, ~agents.c.deleted)
        )
        row = result.first()
        return _agent(row) if row else None

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[AgentRow]:
        query = select(agents).where(agents.c.tenant_id == tenant_id, ~agents.c.deleted)
        if before:
            query = query.where(agents.c.id < before)
        result = await self._session.execute(query.order_by(agents.c.id.desc()).limit(limit))
        return [_agent(r) for r in result]

    async def count(self, tenant_id: str) -> int:
        query = select(func.count()).select_from(agents).where(agents.c.tenant_id == tenant_id, ~agents.c.deleted)
        return int((await self._session.execute(query)).scalar_one())

    async def save_spec(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime) -> None:
        await self._session.execute(
            update(agents)
            .where(agents.c.tenant_id == tenant_id, agents.c.id == agent_id)
            .values(spec=spec, updated_at=now)
        )

    async def mark_deleted(self, tenant_id: str, agent_id: str, now: datetime) -> None:
        await self._session.execute(
            update(agents)
            .where(agents.c.tenant_id == tenant_id, agents.c.id == agent_id)
            .values(deleted=True, updated_at=now)
        )

    async def publish(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime,
                      tests: PublishedTests | None = None, test_run_id: str | None = None) -> int:
        latest = await self._session.execute(
            select(func.max(agent_versions.c.version)).where(agent_versions.c.agent_id == agent_id)
        )
        version = (latest.scalar_one_or_none() or 0) + 1
        await self._session.execute(
            insert(agent_versions).values(
                agent_id=agent_id, version=version, tenant_id=tenant_id, spec=spec, published_at=now, tests=tests,
                test_run_id=test_run_id,
            )
        )
        await self._session.execute(
            update(agents)
            .where(agents.c.tenant_id == tenant_id, agents.c.id == agent_id)
            .values(published_version=version, updated_at=now)
        )
        return version

    async def version(self, tenant_id: str, agent_id: str, version: int) -> VersionRow | None:
        result = await self._session.execute(
            select(agent_versions).where(
                agent_versions.c.tenant_id == tenant_id,
                agent_versions.c.agent_id == agent_id,
                agent_versions.c.version == version,
            )
        )
        row = result.first()
        return _version(row) if row else None

    async def versions(self, tenant_id: str, agent_id: str, limit: int, below: int | None) -> list[VersionRow]:
        query = select(agent_versions).where(
            agent_versions.c.tenant_id == tenant_id, agent_versions.c.agent_id == agent_id
        )
        if below is not None:
            query = query.where(agent_versions.c.version < below)
        result = await self._session.execute(query.order_by(agent_versions.c.version.desc()).limit(limit))
        return [_version(r) for r in result]
