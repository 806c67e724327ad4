"""Agent tests and their runs in memory: the same answers as ``agent_test_repository.py`` (the handler tests run
on both), for ``adapters/memory.py``'s store."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from afo_agent_runtime.adapters.agent_test_repository import AgentTestRow, AgentTestRunRow, Verdicts
from afo_agent_runtime.domain.errors import AlreadyCreated
from afo_common.messaging.store import as_stored as _stored


@dataclass
class AgentTestTables:
    tests: dict[str, AgentTestRow] = field(default_factory=dict)
    runs: dict[str, AgentTestRunRow] = field(default_factory=dict)


class MemoryAgentTests:
    def __init__(self, tables: AgentTestTables) -> None:
        self._t = tables

    def _tests(self, tenant_id: str, agent_id: str) -> list[AgentTestRow]:
        return sorted((t for t in self._t.tests.values() if (t.tenant_id, t.agent_id) == (tenant_id, agent_id)),
                      key=lambda t: (t.created_at, t.id))

    def _runs(self, tenant_id: str, agent_id: str) -> list[AgentTestRunRow]:
        return sorted((r for r in self._t.runs.values() if (r.tenant_id, r.agent_id) == (tenant_id, agent_id)),
                      key=lambda r: r.id, reverse=True)

    async def add(self, row: AgentTestRow) -> None:
        if row.request_id is not None and await self.by_request(row.tenant_id, row.request_id) is not None:
            raise AlreadyCreated("test", row.request_id)
        self._t.tests[row.id] = _stored(row)

    async def by_request(self, tenant_id: str, request_id: str) -> AgentTestRow | None:
        found = [t for t in self._t.tests.values() if t.tenant_id == tenant_id and t.request_id == request_id]
        return _stored(found[0]) if found else None

    async def count(self, tenant_id: str, agent_id: str) -> int:
        return len(self._tests(tenant_id, agent_id))

    async def page(self, tenant_id: str, agent_id: str, limit: int, after: str | None) -> list[AgentTestRow]:
        tests = self._tests(tenant_id, agent_id)
        if after:
            anchor = next((t for t in tests if t.id == after), None)
            tests = [t for t in tests if anchor and (t.created_at, t.id) > (anchor.created_at, anchor.id)]
        return [_stored(t) for t in tests[:limit]]

    async def delete(self, tenant_id: str, agent_id: str, test_id: str) -> bool:
        found = self._t.tests.get(test_id)
        if found is None or (found.tenant_id, found.agent_id) != (tenant_id, agent_id):
            return False
        del self._t.tests[test_id]
        return True

    async def add_run(self, row: AgentTestRunRow, keep: int) -> None:
        self._t.runs[row.id] = _stored(row)
        for old in self._runs(row.tenant_id, row.agent_id)[keep:]:
            del self._t.runs[old.id]

    async def runs(self, tenant_id: str, agent_id: str, limit: int, before: str | None) -> list[AgentTestRunRow]:
        rows = [r for r in self._runs(tenant_id, agent_id) if not before or r.id < before][:limit]
        return [_stored(replace(r, results=[])) for r in rows]

    async def run(self, tenant_id: str, agent_id: str, run_id: str) -> AgentTestRunRow | None:
        found = self._t.runs.get(run_id)
        if found is None or (found.tenant_id, found.agent_id) != (tenant_id, agent_id):
            return None
        return _stored(found)

    async def latest_verdicts(self, tenant_id: str, agent_id: str, spec_digest: str) -> Verdicts | None:
        found = next((r for r in self._runs(tenant_id, agent_id) if r.spec_digest == spec_digest), None)
        return Verdicts(found.id, dict(found.verdicts)) if found else None
