"""``/v1/audit`` and ``/v1/audit/export`` on a gateway built by the composition root, with agent-runtime and
workflow-executor answered by stand-ins on a real nats-server: a change the gateway asks another service to make
is logged with who asked once the owner made it (and not when it refused); owners, admins and secret keys read
the log, members get a 403; a tenant never sees another's entries; pages, filters, 422 problems; the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import workflow_executor_workflows as wf
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


class Owners:
    """agent-runtime and workflow-executor as far as these changes ask them: ``agt_1`` is the only agent that
    publishes, every workflow deletes."""

    async def create_agent(self, r: ar.CreateAgent) -> ar.AgentView:
        return ar.AgentView(id="agt_1", spec=r.spec, published_version=None, created_at=AT, updated_at=AT)

    async def publish(self, r: ar.PublishAgent) -> ar.AgentVersionView:
        if r.agent_id != "agt_1":
            raise RpcError("not_found", f"agent {r.agent_id} not found")
        return ar.AgentVersionView(agent_id=r.agent_id, version=3, spec={"name": "Ava"}, published_at=AT)

    async def delete_workflow(self, r: wf.WorkflowRef) -> wf.Deleted:
        return wf.Deleted(id=r.workflow_id)


@pytest.fixture
async def owners(connection: NatsConnection) -> Owners:
    stand_in = Owners()
    await answer_rpcs(connection, {ar.CREATE_AGENT: stand_in.create_agent, ar.PUBLISH_AGENT: stand_in.publish,
                                   wf.DELETE_WORKFLOW: stand_in.delete_workflow})
    return stand_in


@pytest.fixture
async def tenant(gateways: Any, owners: Owners) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    return gateways, service, client, owner


async def person(gateways: Any, service: Any, owner_email: str, role: str) -> httpx.AsyncClient:
    """A client logged in as a new ``role`` of the owner's tenant (people are added by a person)."""
    by_owner = await gateways.login(service, owner_email)
    email = f"{role}+{owner_email}"
    added = await by_owner.post("/v1/users", json={"email": email, "password": gateways.password, "role": role})
    assert added.status_code == 201, added.text
    return await gateways.login(service, email)  # type: ignore[no-any-return]


async def user_id(client: httpx.AsyncClient, email: str) -> str:
    users = (await client.get("/v1/users")).json()["data"]
    return next(u["id"] for u in users if u["email"] == email)  # type: ignore[no-any-return]


async def test_agent_and_workflow_changes_are_logged_with_who_made_them(tenant: Any) -> None:
    gateways, service, client, owner = tenant
    session = await gateways.login(service, owner.email)
    key_id = (await client.get("/v1/api-keys", headers=owner.auth)).json()["data"][0]["id"]

    created = await client.post("/v1/agents", headers=owner.auth, json={"name": "Ava"})
    published = await session.post("/v1/agents/agt_1/publish")
    refused = await session.post("/v1/agents/agt_404/publish")
    deleted = await session.delete("/v1/workflows/wf_1")
    log = await session.get("/v1/audit")

    assert [created.status_code, published.status_code, deleted.status_code] == [201, 200, 200]
    assert_problem(refused, 404)
    assert log.status_code == 200, log.text
    user = await user_id(session, owner.email)
    entries = [(e["action"], e["target"], e["actor"], e["actor_name"]) for e in log.json()["data"]]
    assert entries == [("workflow.delete", "wf_1", user, owner.email),
                       ("agent.publish", "agt_1:v3", user, owner.email),
                       ("agent.create", "agt_1", key_id, "API key default"),
                       ("tenant.signup", owner.tenant_id, user, owner.email)]
    assert log.json()["next_cursor"] is None
    newest = log.json()["data"][0]
    assert newest["id"].startswith("aud_") and datetime.fromisoformat(newest["at"]).tzinfo is not None


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("member", 403)])
async def test_owners_admins_and_secret_keys_read_the_log_members_get_a_403(tenant: Any, role: str,
                                                                            status: int) -> None:
    gateways, service, client, owner = tenant
    someone = await person(gateways, service, owner.email, role)

    listed = await someone.get("/v1/audit")
    exported = await someone.get("/v1/audit/export")

    assert (await client.get("/v1/audit", headers=owner.auth)).status_code == 200  # a secret key
    if status == 403:
        assert_problem(listed, 403)
        assert_problem(exported, 403)
    else:
        assert listed.status_code == exported.status_code == 200
        assert "user.add" in [e["action"] for e in listed.json()["data"]]
    assert_problem(await client.get("/v1/audit"), 401)  # nobody


async def test_a_tenant_never_sees_another_tenants_entries(tenant: Any) -> None:
    gateways, service, client, owner = tenant
    await client.post("/v1/agents", headers=owner.auth, json={"name": "Ava"})
    other_client = await gateways.client(service, address="198.51.100.7")
    other = await gateways.sign_up(other_client)
    owner_id = (await client.get("/v1/audit", headers=owner.auth, params={"action": "tenant."})).json()["data"][0][
        "actor"]

    theirs = (await other_client.get("/v1/audit", headers=other.auth)).json()["data"]
    by_our_owner = (await other_client.get("/v1/audit", headers=other.auth, params={"actor": owner_id})).json()
    exported = (await other_client.get("/v1/audit/export", headers=other.auth)).text

    assert [(e["action"], e["target"]) for e in theirs] == [("tenant.signup", other.tenant_id)]
    assert by_our_owner["data"] == []
    assert owner.tenant_id not in exported and "agent.create" not in exported


async def test_pages_and_filters(tenant: Any) -> None:
    _, _, client, owner = tenant
    for _ in range(3):
        await client.post("/v1/agents", headers=owner.auth, json={"name": "Ava"})
    await client.delete("/v1/workflows/wf_1", headers=owner.auth)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/audit", headers=owner.auth, params=params)).json()
        seen += [e["action"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    agents = (await client.get("/v1/audit", headers=owner.auth, params={"action": "agent."})).json()["data"]
    since = agents[1]["at"]
    later = (await client.get("/v1/audit", headers=owner.auth, params={"since": since})).json()["data"]
    before = (await client.get("/v1/audit", headers=owner.auth, params={"until": since})).json()["data"]

    assert seen == ["workflow.delete", "agent.create", "agent.create", "agent.create", "tenant.signup"]
    assert [e["action"] for e in agents] == ["agent.create"] * 3
    assert [e["id"] for e in later][-1] == agents[1]["id"] and agents[2]["id"] not in [e["id"] for e in later]
    assert agents[1]["id"] not in [e["id"] for e in before] and agents[2]["id"] in [e["id"] for e in before]


@pytest.mark.parametrize("params", [{"since": "yesterday"}, {"since": "2026-12-01T10:00:00"},
                                    {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
                                    {"limit": 0}, {"limit": 101}, {"action": "a" * 81}, {"cursor": "c" * 65}])
async def test_bad_parameters_are_a_422_problem(tenant: Any, params: dict[str, Any]) -> None:
    _, _, client, owner = tenant

    listed = await client.get("/v1/audit", headers=owner.auth, params=params)

    assert_problem(listed, 422)
    if "limit" not in params and "cursor" not in params:
        assert_problem(await client.get("/v1/audit/export", headers=owner.auth, params=params), 422)


async def test_the_export_is_a_csv_attachment_of_the_filtered_entries(tenant: Any) -> None:
    _, _, client, owner = tenant
    await client.post("/v1/agents", headers=owner.auth, json={"name": "Ava"})
    await client.delete("/v1/workflows/wf_1", headers=owner.auth)
    listed = (await client.get("/v1/audit", headers=owner.auth, params={"action": "agent."})).json()["data"]

    exported = await client.get("/v1/audit/export", headers=owner.auth, params={"action": "agent."})

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["at", "actor", "actor_name", "action", "target", "id"]
    (entry,) = listed
    assert rows[1:] == [[datetime.fromisoformat(entry["at"]).isoformat(), entry["actor"], "API key default",
                         "agent.create", "agt_1", entry["id"]]]
