"""Agent tests (owned by agent-runtime) and publishing, which they guard: the gateway checks who may do what, asks
the owner over RPC, turns its refusal to publish into a problem naming the tests, and audits a publish that
overrode them (the version records it too)."""

from __future__ import annotations

from typing import Any

from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import agent_tests as at
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import AgentTestsFailing, Conflict, Invalid
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.owners import Owners

BLOCKING = {"test_failed": "failed", "test_not_run": "not_run"}


def _without_test_prefix(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The owner names a test's parts under ``test``; the HTTP body is the test itself."""
    return [{**e, "loc": ["body", *e["loc"][2:]]} if e.get("loc", [])[:2] == ["body", "test"] else e for e in errors]


class AgentTests:
    def __init__(self, owners: Owners, audit: AuditTrail, run_wait_s: float) -> None:
        self._owners = owners
        self._audit = audit
        self._run_wait_s = run_wait_s

    async def create(self, principal: Principal, agent_id: str, test: at.AgentTestSpec,
                     request_id: str) -> at.AgentTestView:
        require(principal, Permission.WRITE)
        request = at.CreateAgentTest(tenant_id=principal.tenant_id, agent_id=agent_id, test=test,
                                     request_id=request_id)
        try:
            return await self._owners.create(at.CREATE_TEST, request)
        except Invalid as exc:
            raise Invalid(exc.detail, _without_test_prefix(exc.errors)) from exc

    async def tests(self, principal: Principal, agent_id: str, limit: int, cursor: str | None
                    ) -> Page[at.AgentTestView]:
        require(principal, Permission.READ)
        request = at.AgentTestsRef(tenant_id=principal.tenant_id, agent_id=agent_id, limit=limit, cursor=cursor)
        return await self._owners.call(at.LIST_TESTS, request)

    async def delete(self, principal: Principal, agent_id: str, test_id: str) -> None:
        require(principal, Permission.WRITE)
        await self._owners.call(at.DELETE_TEST, at.AgentTestRef(tenant_id=principal.tenant_id, agent_id=agent_id,
                                                                test_id=test_id))

    async def run(self, principal: Principal, agent_id: str) -> at.AgentTestRunView:
        """Every test played against the agent's current draft; answers when the run is over."""
        require(principal, Permission.WRITE)
        request = at.RunAgentTests(tenant_id=principal.tenant_id, agent_id=agent_id)
        return await self._owners.call(at.RUN_TESTS, request, timeout_s=self._run_wait_s)

    async def runs(self, principal: Principal, agent_id: str, limit: int, cursor: str | None
                   ) -> Page[at.AgentTestRunSummary]:
        require(principal, Permission.READ)
        request = at.AgentTestsRef(tenant_id=principal.tenant_id, agent_id=agent_id, limit=limit, cursor=cursor)
        return await self._owners.call(at.LIST_RUNS, request)

    async def run_detail(self, principal: Principal, agent_id: str, run_id: str) -> at.AgentTestRunView:
        require(principal, Permission.READ)
        request = at.AgentTestRunRef(tenant_id=principal.tenant_id, agent_id=agent_id, run_id=run_id)
        return await self._owners.call(at.GET_RUN, request)

    async def publish(self, principal: Principal, agent_id: str, override: bool = False) -> ar.AgentVersionView:
        """The draft as a new version. An agent with tests needs a passing run of this draft: otherwise a 409
        naming the tests, unless ``override`` — then the audit log says who published over them
        (``agent.publish.override``); any other publish is ``agent.publish``. The target names the version
        (``agt_…:v3``)."""
        require(principal, Permission.WRITE)
        request = ar.PublishAgent(tenant_id=principal.tenant_id, agent_id=agent_id, override=override)
        try:
            version = await self._owners.call(ar.PUBLISH_AGENT, request)
        except Conflict as exc:
            failing = [{"id": str(e["loc"][-1]), "name": e["msg"], "reason": BLOCKING[e["type"]]}
                       for e in exc.errors if e.get("type") in BLOCKING]
            if not failing:
                raise
            raise AgentTestsFailing(f"{exc.detail} (POST /v1/agents/{agent_id}/publish?override=true)",
                                    failing) from exc
        action = "agent.publish.override" if version.tests == "overridden" else "agent.publish"
        await self._audit.changed(principal, action, f"{agent_id}:v{version.version}")
        return version
