"""RPC contracts of workflow-executor's workflows: an instruction in plain language compiled into reviewable
steps, the tenant's workflows, and their runs step by step.

``WorkflowSpec`` is THE step structure: the embedded compiler produces it, an LLM's proposal is validated
against its JSON schema (``WorkflowSpec.model_json_schema()``), the store keeps it, the API shows it. A
workflow is one trigger (an event type), conditions over the event's (``event.<field>``) and the lead's
(``lead.<field>``) fields, all of which must hold, and actions run in order; ``wait`` pauses the run durably.

``workflows.create`` answers ``invalid`` when the instruction cannot be compiled entirely; its details carry
every word not understood (``type: unrecognized``, ``loc: ["instruction", <start>, <end>]``, ``msg``: the
word) and every part missing (``type: missing``). Nothing is created then."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "workflow-executor"
MAX_INSTRUCTION = 2000

Trigger = Literal["lead.created", "lead.qualified", "meeting.booked", "meeting.failed", "meeting.cancelled",
                  "conversation.closed", "conversation.analyzed", "crm.failed", "anomaly.detected"]
TRIGGERS: tuple[Trigger, ...] = ("lead.created", "lead.qualified", "meeting.booked", "meeting.failed",
                                 "meeting.cancelled", "conversation.closed", "conversation.analyzed",
                                 "crm.failed", "anomaly.detected")
Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists"]
# "me": the workflow's notification contact (``notify``); "lead": the lead's phone or email; else an address.
Recipient = Annotated[str, Field(min_length=2, max_length=254,
                                 pattern=r"^(me|lead|\+[1-9][0-9]{6,14}|[^@\s]+@[^@\s]+\.[^@\s]+)$")]
WorkflowStatus = Literal["draft", "enabled", "disabled"]
Engine = Literal["embedded", "openai"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    field: str = Field(pattern=r"^(event|lead)\.[a-z_][a-z0-9_]{0,39}$", examples=["lead.budget"])
    op: Op
    value: str | float | int | bool | None = Field(default=None, description="absent for ``exists``")

    @model_validator(mode="after")
    def _value_fits(self) -> Condition:
        if self.op == "exists" and self.value is not None:
            raise ValueError("exists takes no value")
        if self.op != "exists" and self.value is None:
            raise ValueError(f"{self.op} needs a value")
        if self.op in ("gt", "gte", "lt", "lte") and (isinstance(self.value, bool)
                                                       or not isinstance(self.value, (int, float))):
            raise ValueError(f"{self.op} compares numbers")
        return self


class BookMeeting(_Strict):
    type: Literal["book_meeting"] = "book_meeting"
    title: str | None = Field(default=None, max_length=80, examples=["demo"])
    calendar: str | None = Field(default=None, max_length=80, examples=["sales"])


class SyncCrm(_Strict):
    type: Literal["sync_crm"] = "sync_crm"


class SendSms(_Strict):
    type: Literal["send_sms"] = "send_sms"
    to: Recipient
    body: str | None = Field(default=None, max_length=1000)


class SendEmail(_Strict):
    type: Literal["send_email"] = "send_email"
    to: Recipient
    subject: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=5000)


class CallWebhook(_Strict):
    type: Literal["call_webhook"] = "call_webhook"
    url: str = Field(max_length=2048, pattern=r"^https?://[^\s/$.?#][^\s]*$")


class Handoff(_Strict):
    type: Literal["handoff"] = "handoff"
    reason: str | None = Field(default=None, max_length=500)


class Remind(_Strict):
    """The booked meeting's confirmation and reminders to the lead (the agent's reminder offsets), sent by
    notifier: on ``meeting.booked`` only."""

    type: Literal["remind"] = "remind"


class Wait(_Strict):
    type: Literal["wait"] = "wait"
    seconds: int = Field(ge=1, le=30 * 86400)


Action = Annotated[BookMeeting | SyncCrm | SendSms | SendEmail | CallWebhook | Handoff | Remind | Wait,
                   Field(discriminator="type")]


class WorkflowSpec(_Strict):
    """The compiled steps: what the tenant reviews before enabling."""

    trigger: Trigger
    conditions: list[Condition] = Field(default=[], max_length=10)
    actions: list[Action] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _not_only_waits(self) -> WorkflowSpec:
        if all(a.type == "wait" for a in self.actions):
            raise ValueError("a workflow needs an action besides waiting")
        return self


class Notify(_Strict):
    """Who "me" is in this workflow's actions: the tenant's contact for its notifications."""

    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", examples=["+15551234567"])
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Unrecognized(BaseModel):
    word: str
    start: int
    end: int


class WorkflowView(BaseModel):
    id: str
    name: str
    instruction: str
    status: WorkflowStatus
    builtin: bool = Field(description="part of the default funnel: may be disabled, not deleted")
    engine: Engine
    spec: WorkflowSpec
    notify: Notify
    created_at: datetime
    updated_at: datetime


class CreateWorkflow(TenantRequest):
    instruction: str = Field(min_length=1, max_length=MAX_INSTRUCTION)
    notify: Notify = Notify()
    request_id: str = Field(min_length=1, max_length=64)


class WorkflowRef(TenantRequest):
    workflow_id: str = Field(min_length=1, max_length=64)


class SetWorkflowStatus(WorkflowRef):
    status: Literal["enabled", "disabled"]


class ListWorkflows(PageRequest):
    pass


class ListWorkflowRuns(PageRequest):
    workflow_id: str = Field(min_length=1, max_length=64)


class Deleted(BaseModel):
    id: str
    deleted: bool = True


StepStatus = Literal["pending", "done", "failed", "skipped", "waiting"]
RunStatus = Literal["running", "waiting", "completed", "failed", "skipped"]


class RunStepView(BaseModel):
    index: int
    type: str
    idempotency_key: str
    status: StepStatus
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


class WorkflowRunView(BaseModel):
    id: str
    workflow_id: str
    event_id: str
    event_type: str
    lead_id: str | None
    status: RunStatus
    # why a run did nothing: the conditions that did not hold
    reason: str | None
    resume_at: datetime | None
    steps: list[RunStepView]
    created_at: datetime
    updated_at: datetime


CREATE_WORKFLOW = RpcOperation(SERVICE, "workflows.create", CreateWorkflow, WorkflowView)
LIST_WORKFLOWS = RpcOperation(SERVICE, "workflows.list", ListWorkflows, Page[WorkflowView])
GET_WORKFLOW = RpcOperation(SERVICE, "workflows.get", WorkflowRef, WorkflowView)
SET_WORKFLOW_STATUS = RpcOperation(SERVICE, "workflows.set_status", SetWorkflowStatus, WorkflowView)
DELETE_WORKFLOW = RpcOperation(SERVICE, "workflows.delete", WorkflowRef, Deleted)
LIST_WORKFLOW_RUNS = RpcOperation(SERVICE, "workflows.runs", ListWorkflowRuns, Page[WorkflowRunView])

OPERATIONS: list[RpcOperation[Any, Any]] = [CREATE_WORKFLOW, LIST_WORKFLOWS, GET_WORKFLOW, SET_WORKFLOW_STATUS,
                                            DELETE_WORKFLOW, LIST_WORKFLOW_RUNS]
