"""RPC contracts of agent tests, owned by agent-runtime: scripted conversations with expectations that a tenant
runs against an agent's current draft before publishing it (``POST /v1/agents/{id}/tests``, ``.../tests/run``).

A test is a name, the lead's turns (as typed; a ``voice`` test's turns are first spoken and recognised, as a
caller's words would be) and what must hold once they are played:

- ``fields_filled``: each named qualification field has a value at the end;
- ``meeting_requested``: some turn asked the calendar for a meeting at a time (the test's "booked": the
  calendar itself is not asked, see docs/architecture.md);
- ``cites_document``: some reply cites the document, named by id or by title (case-insensitive);
- ``handoff_offered``: some turn handed the lead to a person or offered one;
- ``opt_out_respected``: some turn opted the lead out, and that turn and every one after it asked nothing,
  offered nothing (no meeting, no person) and took no further detail;
- ``reply_contains``: a reply (the one to turn ``turn``, counted from 1, or any) contains the text, ignoring
  case.

A run plays every test of the agent against its draft (``spec_digest``: SHA-256 of the draft's canonical JSON)
and records each reply and each expectation's verdict with its reason. Publishing an agent that has tests
needs a run of this draft that passed every current test, or ``override`` (``agents.publish``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from afo_common.events.conversation import Citation
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.agent_runtime import Deleted
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "agent-runtime"
MAX_TESTS_PER_AGENT = 50
MAX_TURNS = 30
MAX_TURN_CHARS = 500
MAX_EXPECTATIONS = 20
# The runs kept per agent; older ones are dropped when a new one is recorded.
RUNS_KEPT = 20

TestName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
TestTurn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TURN_CHARS)]
FieldName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Needle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TestChannel = Literal["text", "voice"]


class _Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectFieldsFilled(_Expectation):
    type: Literal["fields_filled"] = "fields_filled"
    fields: list[FieldName] = Field(min_length=1, max_length=20)


class ExpectMeetingRequested(_Expectation):
    type: Literal["meeting_requested"] = "meeting_requested"


class ExpectCitesDocument(_Expectation):
    type: Literal["cites_document"] = "cites_document"
    document: Needle = Field(description="a document id (doc_…) or its title")


class ExpectHandoffOffered(_Expectation):
    type: Literal["handoff_offered"] = "handoff_offered"


class ExpectOptOutRespected(_Expectation):
    type: Literal["opt_out_respected"] = "opt_out_respected"


class ExpectReplyContains(_Expectation):
    type: Literal["reply_contains"] = "reply_contains"
    text: Needle
    turn: int | None = Field(default=None, ge=1, le=MAX_TURNS, strict=True,
                             description="the reply to this turn (from 1); null: any reply")


Expectation = Annotated[
    ExpectFieldsFilled | ExpectMeetingRequested | ExpectCitesDocument | ExpectHandoffOffered | ExpectOptOutRespected
    | ExpectReplyContains,
    Field(discriminator="type"),
]


class AgentTestSpec(BaseModel):
    """What a tenant writes: the lead's turns, played in order, and what must hold after them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TestName
    channel: TestChannel = Field(default="text", description="voice: each turn is spoken and recognised first, "
                                                             "and the agent answers as on a call")
    turns: list[TestTurn] = Field(min_length=1, max_length=MAX_TURNS)
    expectations: list[Expectation] = Field(min_length=1, max_length=MAX_EXPECTATIONS)

    @model_validator(mode="after")
    def _turns_exist(self) -> AgentTestSpec:
        for expectation in self.expectations:
            if isinstance(expectation, ExpectReplyContains) and expectation.turn and expectation.turn > len(self.turns):
                raise ValueError(f"reply_contains names turn {expectation.turn}; the test has {len(self.turns)}")
        return self


class AgentTestView(AgentTestSpec):
    id: str
    agent_id: str
    created_at: datetime


class CreateAgentTest(TenantRequest):
    agent_id: str = Field(max_length=64)
    test: AgentTestSpec
    # The same request id again (a retry after a timeout) answers with the test the first one made.
    request_id: str | None = Field(default=None, min_length=8, max_length=64)


class AgentTestsRef(PageRequest):
    agent_id: str = Field(max_length=64)


class AgentTestRef(TenantRequest):
    agent_id: str = Field(max_length=64)
    test_id: str = Field(max_length=64)


class RunAgentTests(TenantRequest):
    agent_id: str = Field(max_length=64)


class AgentTestRunRef(TenantRequest):
    agent_id: str = Field(max_length=64)
    run_id: str = Field(max_length=64)


class TranscriptTurn(BaseModel):
    """One turn of a played test: what the lead said, what the agent heard and answered, what it decided."""

    user: str
    heard: str | None = Field(default=None, description="a voice test's turn as the recogniser heard it")
    reply: str
    intent: str
    engine: str
    citations: list[Citation] = []
    lead_changes: dict[str, str] = Field(default_factory=dict, description="fields set or changed this turn")
    meeting_requested_at: datetime | None = Field(default=None, description="the time the calendar would be "
                                                                            "asked for")
    handoff: bool = Field(default=False, description="the lead was handed to a person this turn")
    handoff_offered: bool = Field(default=False, description="the reply offered a person")
    opted_out: bool = Field(default=False, description="the lead opted out this turn")
    awaiting_field: str | None = Field(default=None, description="the field the reply asks for")


class ExpectationResult(BaseModel):
    expectation: Expectation
    passed: bool
    reason: str


class AgentTestResult(BaseModel):
    test_id: str
    name: str
    channel: TestChannel
    passed: bool
    transcript: list[TranscriptTurn]
    expectations: list[ExpectationResult]
    lead: dict[str, str] = Field(default_factory=dict, description="the lead's fields at the end")
    error: str | None = Field(default=None, description="why the test could not be played to its end")


class AgentTestRunSummary(BaseModel):
    id: str
    agent_id: str
    spec_digest: str = Field(description="SHA-256 of the draft configuration the run played against")
    status: Literal["passed", "failed"]
    passed: int
    failed: int
    started_at: datetime
    duration_ms: int


class AgentTestRunView(AgentTestRunSummary):
    results: list[AgentTestResult]


def _op(name: str, request: type[Any], response: type[Any]) -> RpcOperation[Any, Any]:
    return RpcOperation(SERVICE, name, request, response)


CREATE_TEST: RpcOperation[CreateAgentTest, AgentTestView] = _op("tests.create", CreateAgentTest, AgentTestView)
LIST_TESTS: RpcOperation[AgentTestsRef, Page[AgentTestView]] = _op("tests.list", AgentTestsRef,
                                                                   Page[AgentTestView])
DELETE_TEST: RpcOperation[AgentTestRef, Deleted] = _op("tests.delete", AgentTestRef, Deleted)
RUN_TESTS: RpcOperation[RunAgentTests, AgentTestRunView] = _op("tests.run", RunAgentTests, AgentTestRunView)
LIST_RUNS: RpcOperation[AgentTestsRef, Page[AgentTestRunSummary]] = _op("tests.runs.list", AgentTestsRef,
                                                                        Page[AgentTestRunSummary])
GET_RUN: RpcOperation[AgentTestRunRef, AgentTestRunView] = _op("tests.runs.get", AgentTestRunRef,
                                                               AgentTestRunView)

OPERATIONS: list[RpcOperation[Any, Any]] = [CREATE_TEST, LIST_TESTS, DELETE_TEST, RUN_TESTS, LIST_RUNS, GET_RUN]
