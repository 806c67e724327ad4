"""``/v1/agents/{id}/tests`` and the publish it guards, on a gateway built by the composition root, with
agent-runtime answered by a stand-in on a real nats-server: every route asks the owner with the caller's tenant; a
malformed test is a 422 problem before anything is asked; the owner's refusals come back as 404, 409, 422; a
publish its tests block is a 409 problem naming them, and an override publishes and is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import agent_tests as at
from afo_common.rpcs.agent_runtime import Deleted
from afo_common.rpcs.pages import Page
from afo_gateway.adapters.store import sql_store
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
AGENT = "agt_1"
TEST = {"name": "cites the price list", "turns": ["Hi, I'm Dana", "How much is Pro?"],
        "expectations": [{"type": "cites_document", "document": "Price list"},
                         {"type": "fields_filled", "fields": ["name"]}]}


def run_view(agent_id: str) -> at.AgentTestRunView:
    transcript = [at.TranscriptTurn(user="How much is Pro?", reply="From our documents: $99 [1].",
                                    intent="pricing", engine="embedded")]
    result = at.AgentTestResult(test_id="tst_1", name="cites the price list", channel="text", passed=False,
                                transcript=transcript, expectations=[at.ExpectationResult(
                                    expectation=at.ExpectFieldsFilled(fields=["name"]), passed=False,
                                    reason="never filled: name")])
    return at.AgentTestRunView(id="trn_1", agent_id=agent_id, spec_digest="ab" * 32, status="failed", passed=0,
                               failed=1, started_at=AT, duration_ms=12, results=[result])


@dataclass
class AgentRuntime:
    """agent-runtime's side: the agent ``agt_1`` belongs to ``tenant_id``; ``blocking`` tests refuse a publish."""

    tenant_id: str = ""
    blocking: list[dict[str, Any]] = field(default_factory=lambda: [
        {"loc": ["tests", "tst_1"], "msg": "cites the price list", "type": "test_failed"},
        {"loc": ["tests", "tst_2"], "msg": "added later", "type": "test_not_run"}])
    asked: list[tuple[str, Any]] = field(default_factory=list)

    def _agent(self, tenant_id: str, agent_id: str) -> None:
        if (tenant_id, agent_id) != (self.tenant_id, AGENT):
            raise RpcError("not_found", f"agent {agent_id} not found")

    async def create(self, r: at.CreateAgentTest) -> at.AgentTestView:
        self._agent(r.tenant_id, r.agent_id)
        unknown = [(i, j) for i, e in enumerate(r.test.expectations) if isinstance(e, at.ExpectFieldsFilled)
                   for j, name in enumerate(e.fields) if name == "team_size"]
        if unknown:
            raise RpcError("invalid", "the test names fields the agent does not collect", [
                {"loc": ["test", "expectations", i, "fields", j], "msg": "the agent does not collect 'team_size'",
                 "type": "unknown_field"} for i, j in unknown])
        return at.AgentTestView(id="tst_1", agent_id=r.agent_id, created_at=AT, **r.test.model_dump())

    async def list(self, r: at.AgentTestsRef) -> Page[at.AgentTestView]:
        self._agent(r.tenant_id, r.agent_id)
        view = at.AgentTestView.model_validate({**TEST, "id": "tst_1", "agent_id": r.agent_id, "created_at": AT})
        return Page[at.AgentTestView](data=[view])

    async def delete(self, r: at.AgentTestRef) -> Deleted:
        self._agent(r.tenant_id, r.agent_id)
        return Deleted(id=r.test_id)

    async def run(self, r: at.RunAgentTests) -> at.AgentTestRunView:
        self._agent(r.tenant_id, r.agent_id)
        return run_view(r.agent_id)

    async def runs(self, r: at.AgentTestsRef) -> Page[at.AgentTestRunSummary]:
        self._agent(r.tenant_id, r.agent_id)
        summary = at.AgentTestRunSummary.model_validate(run_view(r.agent_id).model_dump(exclude={"results"}))
        return Page[at.AgentTestRunSummary](data=[summary])

    async def get_run(self, r: at.AgentTestRunRef) -> at.AgentTestRunView:
        self._agent(r.tenant_id, r.agent_id)
        if r.run_id != "trn_1":
            raise RpcError("not_found", f"test run {r.run_id} not found")
        return run_view(r.agent_id)

    async def publish(self, r: ar.PublishAgent) -> ar.AgentVersionView:
        self._agent(r.tenant_id, r.agent_id)
        if self.blocking and not r.override:
            raise RpcError("conflict", "the agent's tests block publishing (failed: 'cites the price list'; not run "
                                       "on the current draft: 'added later'); run them, or publish with override",
                           self.blocking)
        return ar.AgentVersionView(agent_id=r.agent_id, version=1, spec={"name": "Ava"}, published_at=AT,
                                   tests="overridden" if self.blocking else "passed", test_run_id="trn_1")

    async def agent(self, r: ar.AgentRef) -> ar.AgentView:  # a publishable key's agent is checked
        return ar.AgentView(id=r.agent_id, spec={"name": "Ava"}, published_version=1, created_at=AT, updated_at=AT)

    def requests(self, op: RpcOperation[Any, Any]) -> list[Any]:
        return [request for name, request in self.asked if name == op.name]


@pytest.fixture
async def runtime(connection: NatsConnection) -> AgentRuntime:
    stand_in = AgentRuntime()
    await answer_rpcs(connection, {
        at.CREATE_TEST: stand_in.create,
        at.LIST_TESTS: stand_in.list,
        at.DELETE_TEST: stand_in.delete,
        at.RUN_TESTS: stand_in.run,
        at.LIST_RUNS: stand_in.runs,
        at.GET_RUN: stand_in.get_run,
        ar.PUBLISH_AGENT: stand_in.publish,
        ar.GET_AGENT: stand_in.agent}, stand_in.asked)
    return stand_in


@pytest.fixture
async def tenant(gateways: Any, runtime: AgentRuntime) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    runtime.tenant_id = owner.tenant_id
    return gateways, service, client, owner


async def test_a_test_is_created_for_the_callers_tenant(tenant: Any, runtime: AgentRuntime) -> None:
    _, _, client, owner = tenant

    response = await client.post(f"/v1/agents/{AGENT}/tests", headers=owner.auth, json=TEST)

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["agent_id"], body["channel"], body["turns"]) == ("tst_1", AGENT, "text", TEST["turns"])
    assert body["expectations"] == [{"type": "cites_document", "document": "Price list"},
                                    {"type": "fields_filled", "fields": ["name"]}]
    (asked,) = runtime.requests(at.CREATE_TEST)
    assert (asked.tenant_id, asked.agent_id, asked.test.name) == (owner.tenant_id, AGENT, TEST["name"])
    assert asked.request_id  # a retry after a timeout finds the test the first attempt made


@pytest.mark.parametrize(("body", "loc"), [
    ({**TEST, "turns": []}, ["body", "turns"]),
    ({**TEST, "turns": ["x" * 501]}, ["body", "turns", 0]),
    ({**TEST, "turns": ["hi"] * 31}, ["body", "turns"]),
    ({**TEST, "expectations": []}, ["body", "expectations"]),
    ({**TEST, "expectations": [{"type": "sounds_nice"}]}, ["body", "expectations", 0]),
    ({**TEST, "expectations": [{"type": "reply_contains"}]}, ["body", "expectations", 0, "reply_contains", "text"]),
    ({**TEST, "channel": "fax"}, ["body", "channel"]),
    ({"turns": ["hi"], "expectations": [{"type": "handoff_offered"}]}, ["body", "name"]),
])
async def test_a_malformed_test_is_a_422_problem_and_the_owner_is_not_asked(
        tenant: Any, runtime: AgentRuntime, body: dict[str, Any], loc: list[Any]) -> None:
    _, _, client, owner = tenant

    problem = assert_problem(await client.post(f"/v1/agents/{AGENT}/tests", headers=owner.auth, json=body), 422,
                             "validation-error")

    assert loc in [e["loc"][:len(loc)] for e in problem["errors"]]
    assert runtime.asked == []


async def test_a_field_the_agent_does_not_collect_is_a_422_naming_it(tenant: Any, runtime: AgentRuntime) -> None:
    _, _, client, owner = tenant
    body = {**TEST, "expectations": [{"type": "fields_filled", "fields": ["name", "team_size"]}]}

    problem = assert_problem(await client.post(f"/v1/agents/{AGENT}/tests", headers=owner.auth, json=body), 422)

    assert problem["errors"] == [{"loc": ["body", "expectations", 0, "fields", 1],
                                  "msg": "the agent does not collect 'team_size'", "type": "unknown_field"}]


async def test_tests_are_listed_run_and_their_runs_read(tenant: Any, runtime: AgentRuntime) -> None:
    _, _, client, owner = tenant

    listed = await client.get(f"/v1/agents/{AGENT}/tests", headers=owner.auth, params={"limit": 50})
    ran = await client.post(f"/v1/agents/{AGENT}/tests/run", headers=owner.auth)
    runs = await client.get(f"/v1/agents/{AGENT}/tests/runs", headers=owner.auth)
    one = await client.get(f"/v1/agents/{AGENT}/tests/runs/trn_1", headers=owner.auth)
    deleted = await client.delete(f"/v1/agents/{AGENT}/tests/tst_1", headers=owner.auth)

    assert [r.status_code for r in (listed, ran, runs, one, deleted)] == [200, 200, 200, 200, 204]
    assert [t["id"] for t in listed.json()["data"]] == ["tst_1"] and listed.json()["next_cursor"] is None
    assert ran.json() == one.json() == run_view(AGENT).model_dump(mode="json")
    assert ran.json()["results"][0]["expectations"][0] == {
        "expectation": {"type": "fields_filled", "fields": ["name"]}, "passed": False, "reason": "never filled: name"}
    assert [r["id"] for r in runs.json()["data"]] == ["trn_1"] and "results" not in runs.json()["data"][0]
    assert {r.tenant_id for _, r in runtime.asked} == {owner.tenant_id}
    assert runtime.requests(at.LIST_TESTS)[0].limit == 50
    assert runtime.requests(at.DELETE_TEST)[0].test_id == "tst_1"
    assert_problem(await client.get(f"/v1/agents/{AGENT}/tests/runs/trn_9", headers=owner.auth), 404)


async def test_another_tenants_agent_is_not_found_on_every_route(tenant: Any, runtime: AgentRuntime) -> None:
    gateways, service, _, _ = tenant
    other_client = await gateways.client(service, address="198.51.100.7")
    other = await gateways.sign_up(other_client)

    for method, path, body in (("POST", "/tests", TEST), ("GET", "/tests", None), ("DELETE", "/tests/tst_1", None),
                               ("POST", "/tests/run", None), ("GET", "/tests/runs", None),
                               ("GET", "/tests/runs/trn_1", None), ("POST", "/publish", None)):
        response = await other_client.request(method, f"/v1/agents/{AGENT}{path}", headers=other.auth, json=body)
        assert_problem(response, 404)
    assert {r.tenant_id for _, r in runtime.asked} == {other.tenant_id}


async def test_reading_needs_read_and_running_needs_write(tenant: Any, runtime: AgentRuntime) -> None:
    _, _, client, owner = tenant
    created = await client.post("/v1/api-keys", headers=owner.auth, json={
        "name": "widget", "kind": "publishable", "agent_id": AGENT, "allowed_origins": ["https://shop.example"]})
    widget = {"Authorization": f"Bearer {created.json()['secret']}", "Origin": "https://shop.example"}

    assert_problem(await client.get(f"/v1/agents/{AGENT}/tests", headers=widget), 403)
    assert_problem(await client.post(f"/v1/agents/{AGENT}/tests/run", headers=widget), 403)
    assert_problem(await client.post(f"/v1/agents/{AGENT}/tests", json=TEST), 401)
    assert runtime.requests(at.LIST_TESTS) == runtime.requests(at.RUN_TESTS) == []


async def test_a_publish_its_tests_block_is_a_409_naming_them(tenant: Any, runtime: AgentRuntime) -> None:
    _, _, client, owner = tenant

    problem = assert_problem(await client.post(f"/v1/agents/{AGENT}/publish", headers=owner.auth), 409,
                             "agent-tests-failing")

    assert problem["failing_tests"] == [{"id": "tst_1", "name": "cites the price list", "reason": "failed"},
                                        {"id": "tst_2", "name": "added later", "reason": "not_run"}]
    assert problem["errors"] == [{"loc": ["tests", "tst_1"], "msg": "cites the price list", "type": "test_failed"},
                                 {"loc": ["tests", "tst_2"], "msg": "added later", "type": "test_not_run"}]
    assert "cites the price list" in problem["detail"] and "override=true" in problem["detail"]
    assert runtime.requests(ar.PUBLISH_AGENT)[0].override is False


async def test_an_override_publishes_and_is_audited(tenant: Any, runtime: AgentRuntime) -> None:
    _, service, client, owner = tenant

    response = await client.post(f"/v1/agents/{AGENT}/publish", headers=owner.auth, params={"override": "true"})

    assert response.status_code == 200, response.text
    assert (response.json()["tests"], response.json()["test_run_id"]) == ("overridden", "trn_1")
    assert runtime.requests(ar.PUBLISH_AGENT)[0].override is True
    async with sql_store(service.unit_of_work).reading() as repos:
        audit = await repos.audit.entries(owner.tenant_id)
    assert [(a.action, a.target) for a in audit][-1] == ("agent.publish.override", f"{AGENT}:v1")


async def test_an_agent_whose_tests_pass_publishes_without_an_override_and_is_audited_as_a_publish(
        tenant: Any, runtime: AgentRuntime) -> None:
    _, service, client, owner = tenant
    runtime.blocking = []

    response = await client.post(f"/v1/agents/{AGENT}/publish", headers=owner.auth)

    assert response.status_code == 200 and response.json()["tests"] == "passed"
    async with sql_store(service.unit_of_work).reading() as repos:
        audit = [(a.action, a.target) for a in await repos.audit.entries(owner.tenant_id)]
    assert audit[-1] == ("agent.publish", f"{AGENT}:v1")
    assert "agent.publish.override" not in [action for action, _ in audit]
