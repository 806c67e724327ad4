"""The operators' API (``/v1/admin``) and the operators' RPC on gateways built by the composition root, with a real
nats-server: who may call what (owner, admin, member, operator, a secret key, nobody); tenants with their people;
health and throughput; consumer lag; dead letters from the real DEADLETTER stream listed, inspected, replayed once
and discarded once, with problem+json for malformed and unknown ids and settled letters; every tenant's anomalies
through workflow-executor's RPC (a stand-in); a tenant admin cannot make anyone an operator; an operator removed
over the RPC is logged out at once."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReceived
from afo_common.events.streams import CONVERSATION
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.dead_letters import publish_dead_letter
from afo_common.messaging.rpc import RpcError
from afo_common.rpcs.gateway_operators import (
    ADD_OPERATOR,
    LIST_OPERATORS,
    REMOVE_OPERATOR,
    AddOperator,
    ListOperators,
    RemoveOperator,
)
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import (
    LIST_PLATFORM_ANOMALIES,
    ListPlatformAnomalies,
    PlatformAnomalyView,
)
from afo_testkit.rpc_stand_ins import answer_rpcs

ADMIN_READS = ["/v1/admin/tenants", "/v1/admin/health", "/v1/admin/consumers", "/v1/admin/dead-letters",
               "/v1/admin/dead-letters/dlq_1", "/v1/admin/anomalies"]
ADMIN_WRITES = ["/v1/admin/dead-letters/dlq_1/replay", "/v1/admin/dead-letters/dlq_1/discard"]
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def anomaly(tenant_id: str) -> PlatformAnomalyView:
    return PlatformAnomalyView(
        id=f"anm_{tenant_id}", tenant_id=tenant_id, signal="key_messages", scope="key", agent_id=None, key_id="key_1",
        status="open", severity="critical", direction="above", observed=30, unit="messages", volume=30,
        baseline_mean=1, baseline_sigma=1, deviation=29, window_start=AT, window_end=AT, detected_at=AT,
        resolved_at=None, resolution=None)


@pytest.fixture
async def anomalies_asked(connection: NatsConnection) -> list[Any]:
    asked: list[Any] = []

    async def listed(request: ListPlatformAnomalies) -> Page[PlatformAnomalyView]:
        return Page[PlatformAnomalyView](data=[anomaly("ten_a"), anomaly("ten_b")], next_cursor=None)

    await answer_rpcs(connection, {LIST_PLATFORM_ANOMALIES: listed}, asked)
    return asked


async def dead_letter(connection: NatsConnection, tenant_id: str = "ten_a") -> dict[str, Any]:
    """What agent-runtime's consumer does with an event it gives up on; the event, as it was."""
    event = MessageReceived(conversation_id="conv_1", message_id="msg_1", channel="api", text="hi", sent_at=AT)
    envelope = envelope_for(event, tenant_id=tenant_id, source="gateway")
    await connection.js.publish(envelope.nats_subject, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})
    await publish_dead_letter(connection, service="agent-runtime", stream=CONVERSATION,
                              consumer="agent-runtime-message-received", subject=envelope.nats_subject, stream_seq=1,
                              num_delivered=5, reason="failed 5 times, last: KeyError at turns.py:1 in reply",
                              data=envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id},
                              reason_label="max_deliver")
    return {"id": envelope.id, "subject": envelope.nats_subject, "bytes": envelope.to_bytes()}


async def people(gateways: Any, gateway: Any) -> dict[str, httpx.AsyncClient]:
    """A client for each kind of caller: a tenant's owner, admin and member, an operator, a secret key, nobody."""
    owner = await gateways.sign_up(await gateways.client(gateway))
    clients = {"owner": await gateways.login(gateway, owner.email)}
    for role in ("admin", "member"):
        added = await clients["owner"].post("/v1/users", json={"email": f"{role}@example.com",
                                                               "password": gateways.password, "role": role})
        assert added.status_code == 201, added.text
        clients[role] = await gateways.login(gateway, f"{role}@example.com")
    clients["operator"] = await gateways.operator(gateway)
    clients["secret key"] = await gateways.client(gateway, headers=owner.auth)
    clients["nobody"] = await gateways.client(gateway)
    return clients


@pytest.mark.parametrize(("who", "status"), [("owner", 403), ("admin", 403), ("member", 403), ("secret key", 403),
                                             ("nobody", 401)])
async def test_no_one_but_an_operator_reaches_the_admin_api(gateways: Any, connection: NatsConnection,
                                                            who: str, status: int) -> None:
    gateway = await gateways.start()
    clients = await people(gateways, gateway)
    await dead_letter(connection)

    answers = [await clients[who].get(path) for path in ADMIN_READS]
    answers += [await clients[who].post(path) for path in ADMIN_WRITES]

    assert [a.status_code for a in answers] == [status] * len(answers)
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    letter = await clients["operator"].get("/v1/admin/dead-letters/dlq_1")
    assert letter.status_code == 200 and letter.json()["status"] == "dead"  # nothing was done to it


async def test_an_operator_reads_tenants_health_lag_and_anomalies(gateways: Any, connection: NatsConnection,
                                                                  anomalies_asked: list[Any]) -> None:
    gateway = await gateways.start()
    clients = await people(gateways, gateway)
    other = await gateways.sign_up(await gateways.client(gateway))
    operator = clients["operator"]
    await dead_letter(connection)
    await connection.js.pull_subscribe("afo.*.conversation.>", durable="test-behind", stream=CONVERSATION)

    first = (await operator.get("/v1/admin/tenants", params={"limit": 1})).json()
    rest = (await operator.get("/v1/admin/tenants", params={"limit": 1, "cursor": first["next_cursor"]})).json()
    health = (await operator.get("/v1/admin/health")).json()
    lag = (await operator.get("/v1/admin/consumers")).json()
    found = await operator.get("/v1/admin/anomalies", params={"status": "open", "limit": 5})

    tenants = first["data"] + rest["data"]
    assert tenants[0]["id"] == other.tenant_id  # newest first; the operations tenant is not one
    assert [t["users"] for t in tenants] == [1, 3] and "ten_platform" not in [t["id"] for t in tenants]
    services = {s["service"]: s for s in health["services"]}
    assert services["gateway"]["ready"] is True and services["notifier"] == {
        "service": "notifier", "ready": False, "version": None, "error": "unavailable"}
    assert health["ready"] is False
    assert {s["name"] for s in health["streams"]} >= {CONVERSATION, "DEADLETTER", "TENANT"}
    tenant_stream = next(s for s in health["streams"] if s["name"] == "TENANT")
    assert tenant_stream["last_minute"] == tenant_stream["last_hour"] >= 0
    behind = next(c for c in lag["data"] if c["name"] == "test-behind")
    assert (behind["stream"], behind["pending"], behind["ack_pending"], behind["redelivered"]) == (
        CONVERSATION, 1, 0, 0)
    assert [(c["stream"], c["name"]) for c in lag["data"]] == sorted((c["stream"], c["name"]) for c in lag["data"])
    assert found.status_code == 200
    assert [(a["id"], a["tenant_id"]) for a in found.json()["data"]] == [("anm_ten_a", "ten_a"), ("anm_ten_b", "ten_b")]
    assert [(name, r.status, r.limit) for name, r in anomalies_asked] == [("anomalies.list_platform", "open", 5)]
    bad = await operator.get("/v1/admin/anomalies", params={"status": "sideways"})
    assert bad.status_code == 422 and bad.json()["type"] == "https://afo.dev/problems/validation-error"


async def test_a_dead_letter_is_inspected_replayed_once_and_then_not_discarded(
        gateways: Any, connection: NatsConnection) -> None:
    gateway = await gateways.start()
    operator = await gateways.operator(gateway)
    original = await dead_letter(connection)
    heard: list[Any] = []

    async def hear(msg: Any) -> None:
        heard.append(msg)

    await connection.client.subscribe(original["subject"], cb=hear)

    listed = (await operator.get("/v1/admin/dead-letters")).json()
    inspected = (await operator.get("/v1/admin/dead-letters/dlq_1")).json()
    replayed = await operator.post("/v1/admin/dead-letters/dlq_1/replay")
    again = await operator.post("/v1/admin/dead-letters/dlq_1/replay")
    discarded = await operator.post("/v1/admin/dead-letters/dlq_1/discard")
    after = (await operator.get("/v1/admin/dead-letters/dlq_1")).json()
    await connection.client.flush()
    await asyncio.sleep(0.1)

    [summary] = listed["data"]
    assert (summary["id"], summary["tenant_id"], summary["event_id"], summary["status"]) == (
        "dlq_1", "ten_a", original["id"], "dead")
    assert inspected["payload"].encode() == original["bytes"] and inspected["num_delivered"] == 5
    assert replayed.status_code == 200 and again.status_code == 200 and again.json() == replayed.json()
    assert replayed.json()["action"] == "replayed"
    assert discarded.status_code == 409 and discarded.json()["type"] == "https://afo.dev/problems/dead-letter-settled"
    assert (after["status"], after["payload"], after["action"]["at"]) == ("replayed", None, replayed.json()["at"])
    [copy] = heard
    assert copy.data == original["bytes"] and copy.headers["Afo-Replay-Of"] == "dlq_1"
    assert (await operator.get("/v1/admin/dead-letters")).json()["data"] == []


@pytest.mark.parametrize(("path", "status", "problem"), [
    ("/v1/admin/dead-letters/dlq_abc", 422, "validation-error"),
    ("/v1/admin/dead-letters/42", 422, "validation-error"),
    ("/v1/admin/dead-letters/dlq_" + "1" * 41, 422, "validation-error"),
    ("/v1/admin/dead-letters/dlq_77", 404, "not-found"),
    ("/v1/admin/dead-letters?cursor=x", 422, "validation-error"),
    ("/v1/admin/dead-letters?service=billing", 422, "validation-error"),
    ("/v1/admin/dead-letters?limit=0", 422, "validation-error"),
])
async def test_bad_dead_letter_requests_are_problems(gateways: Any, path: str, status: int, problem: str) -> None:
    gateway = await gateways.start()
    operator = await gateways.operator(gateway)

    answer = await operator.get(path)
    acted = await operator.post(path.split("?")[0] + "/discard") if "?" not in path else answer

    assert (answer.status_code, answer.json()["type"]) == (status, f"https://afo.dev/problems/{problem}")
    assert acted.status_code in (status, 405)


async def test_a_discard_twice_answers_the_first_and_a_replay_after_it_is_refused(
        gateways: Any, connection: NatsConnection) -> None:
    gateway = await gateways.start()
    operator = await gateways.operator(gateway)
    await dead_letter(connection)

    first = await operator.post("/v1/admin/dead-letters/dlq_1/discard")
    second = await operator.post("/v1/admin/dead-letters/dlq_1/discard")
    replay = await operator.post("/v1/admin/dead-letters/dlq_1/replay")

    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert replay.status_code == 409 and "discarded" in replay.json()["detail"]
    assert (await connection.js.stream_info(CONVERSATION)).state.messages == 1  # nothing was sent again


async def test_a_tenant_admin_cannot_make_anyone_an_operator(gateways: Any) -> None:
    gateway = await gateways.start()
    clients = await people(gateways, gateway)
    member_id = next(u["id"] for u in (await clients["owner"].get("/v1/users")).json()["data"]
                     if u["role"] == "member")

    added = await clients["admin"].post("/v1/users", json={"email": "sneaky@example.com",
                                                           "password": gateways.password, "role": "operator"})
    promoted = await clients["owner"].patch(f"/v1/users/{member_id}", json={"role": "operator"})

    for refused in (added, promoted):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "https://afo.dev/problems/role-reserved"
    roles = {u["email"]: u["role"] for u in (await clients["owner"].get("/v1/users")).json()["data"]}
    assert "sneaky@example.com" not in roles and roles["member@example.com"] == "member"


async def test_operators_are_added_listed_and_removed_over_the_rpc(gateways: Any) -> None:
    gateway = await gateways.start()
    added = await gateways.operator_rpc(gateway, ADD_OPERATOR, AddOperator(email="ops@example.com"))
    session = await gateways.login(gateway, "ops@example.com", password=added.password)
    assert (await session.get("/v1/admin/tenants")).status_code == 200

    with pytest.raises(RpcError) as duplicate:
        await gateway.rpc.call(ADD_OPERATOR, AddOperator(email="OPS@example.com"))
    with pytest.raises(RpcError) as malformed:
        await gateway.rpc.call(ADD_OPERATOR, AddOperator(email="not-an-email"))
    listed = await gateway.rpc.call(LIST_OPERATORS, ListOperators())
    removed = await gateway.rpc.call(REMOVE_OPERATOR, RemoveOperator(email="ops@example.com"))
    with pytest.raises(RpcError) as unknown:
        await gateway.rpc.call(REMOVE_OPERATOR, RemoveOperator(email="ops@example.com"))

    assert (duplicate.value.code, malformed.value.code, unknown.value.code) == ("conflict", "invalid", "not_found")
    assert [o.email for o in listed.data] == ["ops@example.com"] and removed.id == added.operator.id
    assert (await session.get("/v1/admin/tenants")).status_code == 401  # logged out at once
