"""Workflows' entrypoints: one durable consumer per trigger event (a JetStream consumer filters one event
subject), the poller that resumes waiting runs, and the workflow RPCs with their errors mapped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.events import Event
from afo_common.events.anomaly import AnomalyDetected
from afo_common.events.conversation import ConversationAnalyzed, ConversationClosed, LeadCreated, LeadQualified
from afo_common.events.streams import CONVERSATION, WORKFLOW
from afo_common.events.workflow import CrmFailed, MeetingBooked, MeetingCancelled, MeetingFailed
from afo_common.messaging.consumer import ConsumerSpec
from afo_common.messaging.rpc import RpcError
from afo_common.rpcs import workflow_executor_workflows as ops
from afo_common.service import Service
from afo_workflow_executor.handlers.errors import NotFound
from afo_workflow_executor.handlers.workflow_runs import WorkflowRunner
from afo_workflow_executor.handlers.workflows import Conflict, NotCompiled, WorkflowBook

RESUME_INTERVAL_S = 1.0
TRIGGERED: tuple[tuple[str, str, type[Event]], ...] = (
    ("workflow-executor-workflows-lead-created", CONVERSATION, LeadCreated),
    ("workflow-executor-workflows-lead-qualified", CONVERSATION, LeadQualified),
    ("workflow-executor-workflows-conversation-closed", CONVERSATION, ConversationClosed),
    ("workflow-executor-workflows-conversation-analyzed", CONVERSATION, ConversationAnalyzed),
    ("workflow-executor-workflows-meeting-booked", WORKFLOW, MeetingBooked),
    ("workflow-executor-workflows-meeting-failed", WORKFLOW, MeetingFailed),
    ("workflow-executor-workflows-meeting-cancelled", WORKFLOW, MeetingCancelled),
    ("workflow-executor-workflows-crm-failed", WORKFLOW, CrmFailed),
    ("workflow-executor-workflows-anomaly-detected", WORKFLOW, AnomalyDetected),
)


def workflow_consumers() -> list[ConsumerSpec]:
    return [ConsumerSpec(durable=durable, stream=stream, event=event, max_deliver=5)
            for durable, stream, event in TRIGGERED]


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except NotFound as exc:
            raise RpcError("not_found", str(exc)) from exc
        except Conflict as exc:
            raise RpcError("conflict", str(exc)) from exc
        except NotCompiled as exc:
            details = [{"loc": ["instruction", u.start, u.end], "msg": u.word, "type": "unrecognized"}
                       for u in exc.refused.unrecognized]
            details += [{"loc": ["instruction"], "msg": m, "type": "missing" if m in ("trigger", "action")
                         else "invalid_proposal" if exc.engine == "openai" else "invalid_steps"}
                        for m in exc.refused.missing]
            raise RpcError("invalid", str(exc)[:500], details) from exc

    return call


def register_workflows(service: Service, book: WorkflowBook, runner: WorkflowRunner) -> None:
    for spec in workflow_consumers():
        service.consume(spec, runner)
    service.every(RESUME_INTERVAL_S, runner.resume_due, "resume-workflow-runs")
    service.serve_rpcs(ops.OPERATIONS, [
        (ops.CREATE_WORKFLOW, book.create),
        (ops.LIST_WORKFLOWS, book.list),
        (ops.GET_WORKFLOW, book.get),
        (ops.SET_WORKFLOW_STATUS, book.set_status),
        (ops.DELETE_WORKFLOW, book.delete),
        (ops.LIST_WORKFLOW_RUNS, book.runs),
    ], _mapped)
