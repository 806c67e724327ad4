"""Use cases on agent tests: write, list and delete an agent's tests; run them all against its current draft and
keep the run; read the runs. Publishing reads the runs (``agents.py``); a run itself writes nothing but its own
record (``agent_test_runs.py`` says why nothing else)."""

from __future__ import annotations

import time

from afo_agent_runtime.adapters.agent_test_repository import AgentTestRow, AgentTestRunRow
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.agent_tests import spec_digest
from afo_agent_runtime.domain.errors import Conflict, Invalid, NotFound
from afo_agent_runtime.handlers.agent_test_runs import AgentTestRunner
from afo_agent_runtime.handlers.request_ids import created_once
from afo_agent_runtime.handlers.unit_of_work import Repositories, Store
from afo_common.clock import Clock
from afo_common.ids import new_id
from afo_common.rpcs.agent_runtime import Deleted
from afo_common.rpcs.agent_tests import (
    MAX_TESTS_PER_AGENT,
    RUNS_KEPT,
    AgentTestRef,
    AgentTestResult,
    AgentTestRunRef,
    AgentTestRunSummary,
    AgentTestRunView,
    AgentTestSpec,
    AgentTestsRef,
    AgentTestView,
    CreateAgentTest,
    ExpectFieldsFilled,
    RunAgentTests,
)
from afo_common.rpcs.pages import Page

# Every test of an agent in one read: the limit is MAX_TESTS_PER_AGENT, which two creates racing may pass by one.
ALL_TESTS = 2 * MAX_TESTS_PER_AGENT


def test_view(row: AgentTestRow) -> AgentTestView:
    return AgentTestView.model_validate({
        "id": row.id, "agent_id": row.agent_id, "created_at": row.created_at, "name": row.name,
        "channel": row.channel, "turns": row.turns, "expectations": row.expectations})


def _summary(row: AgentTestRunRow) -> AgentTestRunSummary:
    return AgentTestRunSummary.model_validate({
        "id": row.id, "agent_id": row.agent_id, "spec_digest": row.spec_digest, "status": row.status,
        "passed": row.passed, "failed": row.failed, "started_at": row.started_at, "duration_ms": row.duration_ms})


def _run_view(row: AgentTestRunRow) -> AgentTestRunView:
    return AgentTestRunView(**_summary(row).model_dump(),
                            results=[AgentTestResult.model_validate(r) for r in row.results])


def _unknown_fields(spec: AgentSpec, test: AgentTestSpec) -> Invalid | None:
    """A ``fields_filled`` naming a field the agent does not collect is a mistake the tenant wants to hear of now."""
    collected = {f.name for f in spec.qualification_fields}
    details = [{"loc": ["test", "expectations", i, "fields", j], "msg": f"the agent does not collect {name!r}",
                "type": "unknown_field"}
               for i, e in enumerate(test.expectations) if isinstance(e, ExpectFieldsFilled)
               for j, name in enumerate(e.fields) if name not in collected]
    return Invalid("the test names fields the agent does not collect", details) if details else None


async def _spec(repos: Repositories, tenant_id: str, agent_id: str) -> AgentSpec:
    row = await repos.agents.get(tenant_id, agent_id)
    if row is None:
        raise NotFound("agent", agent_id)
    return AgentSpec.model_validate(row.spec)


class AgentTestHandlers:
    def __init__(self, store: Store, clock: Clock, runner: AgentTestRunner) -> None:
        self._store = store
        self._clock = clock
        self._runner = runner

    async def create(self, request: CreateAgentTest) -> AgentTestView:
        test = request.test
        row = AgentTestRow(new_id("tst"), request.tenant_id, request.agent_id, test.name, test.channel,
                           list(test.turns), [e.model_dump(mode="json") for e in test.expectations],
                           self._clock.now(), request.request_id)

        async def create() -> AgentTestView:
            async with self._store() as uow:
                if request.request_id and (made := await uow.agent_tests.by_request(request.tenant_id,
                                                                                    request.request_id)):
                    return test_view(made)
                spec = await _spec(uow, request.tenant_id, request.agent_id)
                if (invalid := _unknown_fields(spec, test)) is not None:
                    raise invalid
                if await uow.agent_tests.count(request.tenant_id, request.agent_id) >= MAX_TESTS_PER_AGENT:
                    raise Conflict(f"the agent has {MAX_TESTS_PER_AGENT} tests, the most it may have: delete one "
                                   "first")
                await uow.agent_tests.add(row)
            return test_view(row)

        async def made_by_request(request_id: str) -> AgentTestView | None:
            async with self._store.reading() as repos:
                made = await repos.agent_tests.by_request(request.tenant_id, request_id)
            return test_view(made) if made else None

        return await created_once(request.request_id, create, made_by_request)

    async def list(self, request: AgentTestsRef) -> Page[AgentTestView]:
        async with self._store.reading() as repos:
            await _spec(repos, request.tenant_id, request.agent_id)
            rows = await repos.agent_tests.page(request.tenant_id, request.agent_id, request.limit, request.cursor)
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[AgentTestView](data=[test_view(r) for r in rows], next_cursor=next_cursor)

    async def delete(self, request: AgentTestRef) -> Deleted:
        async with self._store() as uow:
            await _spec(uow, request.tenant_id, request.agent_id)
            if not await uow.agent_tests.delete(request.tenant_id, request.agent_id, request.test_id):
                raise NotFound("test", request.test_id)
        return Deleted(id=request.test_id)

    async def run(self, request: RunAgentTests) -> AgentTestRunView:
        """Plays every test against the agent's draft as it is now, and keeps the run (the newest
        ``RUNS_KEPT``)."""
        async with self._store.reading() as repos:
            agent = await repos.agents.get(request.tenant_id, request.agent_id)
            if agent is None:
                raise NotFound("agent", request.agent_id)
            tests = await repos.agent_tests.page(request.tenant_id, request.agent_id, ALL_TESTS, None)
        if not tests:
            raise Conflict("the agent has no tests to run")
        spec = AgentSpec.model_validate(agent.spec)
        started_at, started = self._clock.now(), time.monotonic()
        results = await self._runner.run(request.tenant_id, spec, [test_view(t) for t in tests])
        failed = sum(not r.passed for r in results)
        row = AgentTestRunRow(
            new_id("trn"), request.tenant_id, request.agent_id, spec_digest(agent.spec),
            "failed" if failed else "passed", len(results) - failed, failed, {r.test_id: r.passed for r in results},
            [r.model_dump(mode="json") for r in results], started_at, round((time.monotonic() - started) * 1000))
        async with self._store() as uow:
            await uow.agent_tests.add_run(row, RUNS_KEPT)
        return _run_view(row)

    async def runs(self, request: AgentTestsRef) -> Page[AgentTestRunSummary]:
        async with self._store.reading() as repos:
            await _spec(repos, request.tenant_id, request.agent_id)
            rows = await repos.agent_tests.runs(request.tenant_id, request.agent_id, request.limit, request.cursor)
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[AgentTestRunSummary](data=[_summary(r) for r in rows], next_cursor=next_cursor)

    async def get_run(self, request: AgentTestRunRef) -> AgentTestRunView:
        async with self._store.reading() as repos:
            row = await repos.agent_tests.run(request.tenant_id, request.agent_id, request.run_id)
        if row is None:
            raise NotFound("test run", request.run_id)
        return _run_view(row)
