"""Use cases on agents: create, read, change, delete, publish an immutable version."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from afo_agent_runtime.adapters.agent_repository import AgentRow
from afo_agent_runtime.domain.agent import AgentSpec, apply_patch
from afo_agent_runtime.domain.agent_tests import blocking_tests, spec_digest
from afo_agent_runtime.domain.errors import Invalid, NotFound, TestsBlockPublish
from afo_agent_runtime.handlers.agent_tests import ALL_TESTS
from afo_agent_runtime.handlers.request_ids import created_once
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_agent_runtime.handlers.views import agent_view, version_view
from afo_common.clock import Clock
from afo_common.events.agent import AgentCreated, AgentDeleted, AgentPublished, AgentUpdated
from afo_common.ids import new_id
from afo_common.rpcs.agent_runtime import (
    AgentCount,
    AgentRef,
    AgentVersionView,
    AgentView,
    CountAgents,
    CreateAgent,
    Deleted,
    ListAgents,
    ListVersions,
    PublishAgent,
    PublishedTests,
    UpdateAgent,
)
from afo_common.rpcs.pages import Page


def _invalid(exc: ValidationError) -> Invalid:
    details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()[:20]]
    return Invalid("the agent configuration is not valid", details)


def _spec_json(spec: AgentSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json")


class AgentHandlers:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(self, request: CreateAgent) -> AgentView:
        try:
            spec = AgentSpec.model_validate(request.spec)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        now = self._clock.now()
        row = AgentRow(new_id("agt"), request.tenant_id, _spec_json(spec), None, now, now, request.request_id)

        async def create() -> AgentView:
            async with self._store() as uow:
                if request.request_id and (
                    made := await uow.agents.by_request(request.tenant_id, request.request_id)
                ):
                    return agent_view(made)
                await uow.agents.add(row)
                await uow.emit(AgentCreated(agent_id=row.id, name=spec.name), tenant_id=request.tenant_id)
            return agent_view(row)

        async def made_by_request(request_id: str) -> AgentView | None:
            async with self._store.reading() as repos:
                made = await repos.agents.by_request(request.tenant_id, request_id)
            return agent_view(made) if made else None

        return await created_once(request.request_id, create, made_by_request)

    async def get(self, request: AgentRef) -> AgentView:
        async with self._store.reading() as repos:
            row = await repos.agents.get(request.tenant_id, request.agent_id)
        if row is None:
            raise NotFound("agent", request.agent_id)
        return agent_view(row)

    async def list(self, request: ListAgents) -> Page[AgentView]:
        async with self._store.reading() as repos:
            rows = await repos.agents.page(request.tenant_id, request.limit, request.cursor)
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[AgentView](data=[agent_view(r) for r in rows], next_cursor=next_cursor)

    async def count(self, request: CountAgents) -> AgentCount:
        async with self._store.reading() as repos:
            return AgentCount(agents=await repos.agents.count(request.tenant_id))

    async def update(self, request: UpdateAgent) -> AgentView:
        patch = request.patch
        now = self._clock.now()
        async with self._store() as uow:
            row = await uow.agents.get(request.tenant_id, request.agent_id)
            if row is None:
                raise NotFound("agent", request.agent_id)
            try:
                spec = apply_patch(AgentSpec.model_validate(row.spec), patch)
            except ValidationError as exc:
                raise _invalid(exc) from exc
            await uow.agents.save_spec(request.tenant_id, row.id, _spec_json(spec), now)
            changed = sorted(patch.model_fields_set)
            await uow.emit(AgentUpdated(agent_id=row.id, changed=changed), tenant_id=request.tenant_id)
        return agent_view(AgentRow(row.id, row.tenant_id, _spec_json(spec), row.published_version,
                                   row.created_at, now))

    async def delete(self, request: AgentRef) -> Deleted:
        async with self._store() as uow:
            if await uow.agents.get(request.tenant_id, request.agent_id) is None:
                raise NotFound("agent", request.agent_id)
            await uow.agents.mark_deleted(request.tenant_id, request.agent_id, self._clock.now())
            # Its phone numbers are free for another agent.
            await uow.channels.replace_numbers(request.tenant_id, request.agent_id, [], self._clock.now())
            await uow.emit(AgentDeleted(agent_id=request.agent_id), tenant_id=request.tenant_id)
        return Deleted(id=request.agent_id)

    async def publish(self, request: PublishAgent) -> AgentVersionView:
        """An agent with tests publishes its draft when the latest run of that draft passed every current test;
        otherwise only with ``override``, which the version records."""
        now = self._clock.now()
        async with self._store() as uow:
            row = await uow.agents.get(request.tenant_id, request.agent_id)
            if row is None:
                raise NotFound("agent", request.agent_id)
            tests: PublishedTests | None = None
            run_id = None
            if suite := await uow.agent_tests.page(request.tenant_id, row.id, ALL_TESTS, None):
                run = await uow.agent_tests.latest_verdicts(request.tenant_id, row.id, spec_digest(row.spec))
                run_id = run.run_id if run else None
                blocking = blocking_tests([(t.id, t.name) for t in suite], run.passed if run else None)
                if blocking and not request.override:
                    raise TestsBlockPublish(blocking)
                tests = "overridden" if blocking else "passed"
            version = await uow.agents.publish(request.tenant_id, row.id, row.spec, now, tests, run_id)
            await uow.emit(AgentPublished(agent_id=row.id, version=version), tenant_id=request.tenant_id)
        return AgentVersionView(agent_id=row.id, version=version, spec=row.spec, published_at=now, tests=tests,
                                test_run_id=run_id)

    async def versions(self, request: ListVersions) -> Page[AgentVersionView]:
        below = int(request.cursor) if request.cursor and request.cursor.isdigit() else None
        async with self._store.reading() as repos:
            if await repos.agents.get(request.tenant_id, request.agent_id) is None:
                raise NotFound("agent", request.agent_id)
            rows = await repos.agents.versions(request.tenant_id, request.agent_id, request.limit, below)
        next_cursor = str(rows[-1].version) if len(rows) == request.limit else None
        return Page[AgentVersionView](data=[version_view(r) for r in rows], next_cursor=next_cursor)
