"""Changes the gateway asks another service to make over RPC, audited (``handlers/audit.py``), on every backend:
each handler records its action, actor and target once the owner answered, and nothing when the owner refused.
The owner is a stand-in answering each operation by name (``Answering``)."""

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, RpcOperation
from afo_common.rpcs.agent_spec import AgentPatch
from afo_gateway.domain.access import ROLE_PERMISSIONS, Principal
from afo_gateway.domain.errors import NotFound
from afo_gateway.handlers.agent_tests import AgentTests
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.catalog import Catalog
from afo_gateway.handlers.knowledge import KnowledgeBases
from afo_gateway.handlers.meetings import Meetings
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.phone_numbers import PhoneNumbers
from afo_gateway.handlers.unit_of_work import Store
from afo_gateway.handlers.webhooks import Webhooks
from afo_gateway.handlers.workflows import WorkflowBody, Workflows
from afo_testkit.clock import SteppingClock

ADMIN = Principal("ten_a", "user", "usr_admin", ROLE_PERMISSIONS["admin"])


class Answering(Owners):
    """Every owner: an operation's answer by its name; ``refuse`` makes every call a 404."""

    def __init__(self, refuse: bool = False) -> None:
        super().__init__(RpcClient(NatsConnection("nats://127.0.0.1:1", "unused")))
        self.refuse = refuse
        self.answers: dict[str, Any] = {
            "workflows.create": SimpleNamespace(id="wf_new"),
            "agents.publish": SimpleNamespace(version=4, tests=None),
        }

    async def call(self, op: RpcOperation[Any, Any], request: Any, timeout_s: float | None = None) -> Any:
        if self.refuse:
            raise NotFound("not found")
        return self.answers.get(op.name, SimpleNamespace(id="x"))

    async def create(self, op: RpcOperation[Any, Any], request: Any) -> Any:
        return await self.call(op, request)


Change = Callable[[Answering, AuditTrail], Awaitable[Any]]
NONE = cast(Any, None)  # collaborators these changes never reach
CHANGES: list[tuple[str, Change, str]] = [
    ("agent.update", lambda o, a: Catalog(o, NONE, NONE, NONE, a).update_agent(ADMIN, "agt_1", AgentPatch(name="B")),
     "agt_1"),
    ("agent.delete", lambda o, a: Catalog(o, NONE, NONE, NONE, a).delete_agent(ADMIN, "agt_1"), "agt_1"),
    ("agent.publish", lambda o, a: AgentTests(o, a, 1.0).publish(ADMIN, "agt_1"), "agt_1:v4"),
    ("agent.phone_numbers.update", lambda o, a: PhoneNumbers(o, a).put(ADMIN, "agt_1", ["+14155550100"]), "agt_1"),
    ("workflow.create", lambda o, a: Workflows(o, a).create(ADMIN, WorkflowBody(instruction="when a lead is "
                                                                                          "qualified, text me")),
     "wf_new"),
    ("workflow.enable", lambda o, a: Workflows(o, a).set_status(ADMIN, "wf_1", "enabled"), "wf_1"),
    ("workflow.disable", lambda o, a: Workflows(o, a).set_status(ADMIN, "wf_1", "disabled"), "wf_1"),
    ("workflow.delete", lambda o, a: Workflows(o, a).delete(ADMIN, "wf_1"), "wf_1"),
    ("knowledge_base.update", lambda o, a: KnowledgeBases(o, a).update(ADMIN, "kb_1", "Docs", None, None), "kb_1"),
    ("knowledge_base.delete", lambda o, a: KnowledgeBases(o, a).delete(ADMIN, "kb_1"), "kb_1"),
    ("document.delete", lambda o, a: KnowledgeBases(o, a).delete_document(ADMIN, "kb_1", "doc_1"), "kb_1/doc_1"),
    ("webhook.enable", lambda o, a: Webhooks(o, a).enable(ADMIN, "whs_1"), "whs_1"),
    ("webhook.delete", lambda o, a: Webhooks(o, a).delete(ADMIN, "whs_1"), "whs_1"),
    ("meeting.cancel", lambda o, a: Meetings(o, a).cancel(ADMIN, "mtg_1"), "mtg_1"),
]


@pytest.mark.parametrize(("action", "change", "target"), CHANGES, ids=[c[0] for c in CHANGES])
async def test_a_change_is_recorded_once_its_owner_made_it(store: Store, clock: SteppingClock, action: str,
                                                           change: Change, target: str) -> None:
    trail = AuditTrail(store, clock)

    await change(Answering(), trail)
    with pytest.raises(NotFound):
        await change(Answering(refuse=True), trail)

    async with store.reading() as repos:
        entries = await repos.audit.entries("ten_a")
    assert [(e.actor, e.action, e.target) for e in entries] == [("usr_admin", action, target)]


async def test_an_overridden_publish_is_recorded_as_such(store: Store, clock: SteppingClock) -> None:
    owners = Answering()
    owners.answers["agents.publish"] = SimpleNamespace(version=2, tests="overridden")

    await AgentTests(owners, AuditTrail(store, clock), 1.0).publish(ADMIN, "agt_1", override=True)

    async with store.reading() as repos:
        assert [(e.action, e.target) for e in await repos.audit.entries("ten_a")] == [
            ("agent.publish.override", "agt_1:v2")]
