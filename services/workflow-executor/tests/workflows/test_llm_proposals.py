"""Workflow proposals from an OpenAI-compatible endpoint (the local stand-in speaking the Chat Completions wire
format): a proposal that fits the schema is taken, one that does not — a trigger or action the schema does
not know, arguments that are not JSON, no tool call — is refused and nothing is created; an endpoint that
fails leaves the embedded compiler to compile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openai import DefaultAsyncHttpxClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from afo_common import telemetry
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.workflow_executor_workflows import CreateWorkflow, ListWorkflows, Notify, WorkflowSpec
from afo_testkit.clock import FixedClock
from afo_testkit.openai_server import Call, Failure, FakeOpenAI, Text, ToolCalls
from afo_testkit.spans import exported as exported
from afo_testkit.stores import migrated_database
from afo_workflow_executor.adapters.llm_workflows import TOOL, propose_with, tool_schema
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.workflows_compiler import Refused
from afo_workflow_executor.handlers.workflows import NotCompiled, WorkflowBook

KEY = "sk-test-tenant-key"
GOOD = {"trigger": "lead.qualified", "conditions": [{"field": "lead.budget", "op": "gt", "value": 10000}],
        "actions": [{"type": "book_meeting", "title": "demo", "calendar": "sales"}, {"type": "send_sms", "to": "me"}]}


@pytest.fixture
async def http() -> AsyncIterator[DefaultAsyncHttpxClient]:
    client = DefaultAsyncHttpxClient()
    yield client
    await client.aclose()


async def test_a_valid_proposal_is_the_spec(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([ToolCalls([Call(TOOL, GOOD)])], api_key=KEY) as fake:
        proposed = await propose_with(http, {"api_key": KEY, "base_url": fake.base_url}, "big leads: demo + text me")
        [request] = fake.requests
    assert isinstance(proposed, WorkflowSpec) and proposed.model_dump(exclude_none=True) == GOOD
    # The schema the model is given is the one proposals are validated against.
    assert request["tools"] == [tool_schema()] and request["tool_choice"]["function"]["name"] == TOOL


@pytest.mark.parametrize(("reply", "reason"), [
    (ToolCalls([Call(TOOL, {**GOOD, "trigger": "moon.full"})]), "trigger"),
    (ToolCalls([Call(TOOL, {**GOOD, "actions": [{"type": "order_pizza"}]})]), "actions"),
    (ToolCalls([Call(TOOL, {**GOOD, "conditions": [{"field": "budget", "op": "gt", "value": 1}]})]), "field"),
    (ToolCalls([Call(TOOL, {**GOOD, "extra": 1})]), "extra"),
    (ToolCalls([Call(TOOL, '{"trigger": "lead.qualified", ')]), "not JSON"),
    (Text("Sure! I would book a demo."), "did not call"),
])
async def test_an_invalid_proposal_is_refused(http: DefaultAsyncHttpxClient, reply: ToolCalls | Text,
                                              reason: str) -> None:
    async with FakeOpenAI([reply], api_key=KEY) as fake:
        proposed = await propose_with(http, {"api_key": KEY, "base_url": fake.base_url}, "anything")
    assert isinstance(proposed, Refused) and reason in " ".join(proposed.missing)


async def test_an_endpoint_that_fails_gives_none(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([Failure(500, times=3)], api_key=KEY) as fake:
        assert await propose_with(http, {"api_key": KEY, "base_url": fake.base_url}, "anything") is None
    async with FakeOpenAI([ToolCalls([Call(TOOL, GOOD)])], api_key="another-key") as fake:  # 401
        assert await propose_with(http, {"api_key": KEY, "base_url": fake.base_url}, "anything") is None


class TenantLlm:
    """The tenant's LLM credential as the vault would give it (the endpoint is the stand-in)."""

    def __init__(self, http: DefaultAsyncHttpxClient, base_url: str | None) -> None:
        self.http, self.base_url = http, base_url

    async def propose(self, tenant_id: str, instruction: str) -> WorkflowSpec | Refused | None:
        if self.base_url is None:
            return None
        return await propose_with(self.http, {"api_key": KEY, "base_url": self.base_url}, instruction)


async def test_with_a_key_the_llm_compiles_and_its_invalid_proposal_creates_nothing(
        http: DefaultAsyncHttpxClient, tmp_path: Path) -> None:
    db = await migrated_database("sqlite", tmp_path, "", "afo_workflow_executor.migrations")
    try:
        store = sql_store(UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None))
        bad = ToolCalls([Call(TOOL, {**GOOD, "actions": [{"type": "send_sms", "to": "everyone"}]})])
        async with FakeOpenAI([ToolCalls([Call(TOOL, GOOD)]), bad], api_key=KEY) as fake:
            book = WorkflowBook(store, FixedClock(), TenantLlm(http, fake.base_url))
            made = await book.create(CreateWorkflow(tenant_id="ten_1", instruction="demo for big leads, text me",
                                                    notify=Notify(phone="+15550001111"), request_id="r1"))
            assert (made.engine, made.status) == ("openai", "draft")
            assert made.spec.model_dump(exclude_none=True) == GOOD
            with pytest.raises(NotCompiled, match="invalid"):
                await book.create(CreateWorkflow(tenant_id="ten_1", instruction="text everyone",
                                                 notify=Notify(phone="+15550001111"), request_id="r2"))
        listed = (await book.list(ListWorkflows(tenant_id="ten_1"))).data
        assert [w.id for w in listed if not w.builtin] == [made.id]
        # No key: the embedded compiler.
        plain = WorkflowBook(store, FixedClock(), TenantLlm(http, None))
        embedded = await plain.create(CreateWorkflow(tenant_id="ten_1", instruction="when a lead is qualified, "
                                                     "text me", notify=Notify(phone="+15550001111"), request_id="r3"))
        assert embedded.engine == "embedded"
    finally:
        await db.dispose()


@pytest.mark.parametrize(("reply", "status"), [(ToolCalls([Call(TOOL, GOOD)]), 200), (Failure(500), 500),
                                               (Failure(429), 429)])
async def test_asking_the_llm_is_one_client_span_of_the_request_that_asked(
        http: DefaultAsyncHttpxClient, exported: InMemorySpanExporter, reply: ToolCalls | Failure,
        status: int) -> None:
    async with FakeOpenAI([reply], api_key=KEY) as fake:
        with telemetry.span_from(None, "rpc workflow-executor.workflows.create") as work:
            proposed = await propose_with(http, {"api_key": KEY, "base_url": fake.base_url}, "big leads: demo")

    assert isinstance(proposed, WorkflowSpec) if status == 200 else proposed is None
    [call] = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert call.name == "POST llm"
    assert call.parent is not None and call.parent.span_id == work.get_span_context().span_id
    attributes = dict(call.attributes or {})
    assert set(attributes) - {"error.type"} == {
        "afo.provider", "http.request.method", "server.address", "http.response.status_code"}
    assert (attributes["afo.provider"], attributes["server.address"]) == ("llm", "127.0.0.1")
    assert attributes["http.response.status_code"] == status
    assert call.status.status_code is (StatusCode.ERROR if status >= 400 else StatusCode.UNSET)
    recorded = " ".join(str(value) for value in attributes.values())
    for secret in (KEY, "Bearer", "/v1", "chat", "completions"):
        assert secret not in recorded
