"""``anomaly.detected`` as a workflow trigger: "when an anomaly is detected, email me" compiles (with conditions on
the anomaly's own fields), and a run fires from the event on SQLite and PostgreSQL — the email to the
workflow's contact says which signal of which agent or key, against what baseline; a workflow whose condition
does not hold is skipped; CRM sync cannot run on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from afo_common.events import envelope_for
from afo_common.events.anomaly import AnomalyDetected
from afo_common.events.workflow_runs import NotificationRequested
from afo_common.messaging.consumer import Delivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.workflow_executor_workflows import (
    CreateWorkflow,
    ListWorkflowRuns,
    Notify,
    SetWorkflowStatus,
    WorkflowSpec,
)
from afo_testkit.clock import FixedClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import committed_events, migrated_database
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.workflows_compiler import Refused, compile_instruction
from afo_workflow_executor.entrypoints.workflows import TRIGGERED
from afo_workflow_executor.handlers.workflow_runs import WorkflowRunner
from afo_workflow_executor.handlers.workflows import NotCompiled, WorkflowBook

TENANT = "t_acme"
T0 = datetime(2026, 3, 2, 9, 6, 6, tzinfo=UTC)
ME = Notify(email="ops@example.com")


@pytest.mark.parametrize(("text", "conditions"), [
    ("when an anomaly is detected, email me", []),
    ("if anomalies are detected, email me", []),
    ("whenever an anomaly is detected with severity critical, email me",
     [{"field": "event.severity", "op": "eq", "value": "critical"}]),
    ("when an anomaly is detected with signal key_messages, email me",
     [{"field": "event.signal", "op": "eq", "value": "key_messages"}]),
])
def test_the_trigger_compiles(text: str, conditions: list[dict[str, Any]]) -> None:
    spec = compile_instruction(text)
    assert isinstance(spec, WorkflowSpec) and spec.trigger == "anomaly.detected"
    assert [c.model_dump() for c in spec.conditions] == conditions
    assert [a.type for a in spec.actions] == ["send_email"]
    assert isinstance(compile_instruction("when an anomaly is detected"), Refused)


def test_a_durable_consumer_runs_workflows_on_it() -> None:
    assert ("workflow-executor-workflows-anomaly-detected", "WORKFLOW", AnomalyDetected) in TRIGGERED


@pytest.fixture(params=["sqlite", "postgres"])
async def units(request: pytest.FixtureRequest, tmp_path: Path,
                postgres_server: PostgresDatabases | str) -> AsyncIterator[UnitOfWorkFactory]:
    db = await migrated_database(str(request.param), tmp_path, postgres_server, "afo_workflow_executor.migrations")
    try:
        yield UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None)
    finally:
        await db.dispose()


def detected(severity: str = "critical") -> AnomalyDetected:
    return AnomalyDetected.model_validate({
        "anomaly_id": "anm_1", "signal": "key_messages", "scope": "key", "key_id": "key_1", "direction": "above",
        "observed": 42.0, "unit": "messages", "volume": 42, "baseline_mean": 1.5, "baseline_sigma": 1.2,
        "deviation": 33.75, "window_start": T0 - timedelta(seconds=66), "window_end": T0 - timedelta(seconds=6),
        "severity": severity, "detected_at": T0})


async def test_a_run_fires_from_the_event(units: UnitOfWorkFactory) -> None:
    store, clock = sql_store(units), FixedClock(T0)
    book = WorkflowBook(store, clock)
    runner = WorkflowRunner(store, book, clock)
    made = []
    for instruction in ("when an anomaly is detected, email me",
                        "when an anomaly is detected with severity warning, email me"):
        view = await book.create(CreateWorkflow(tenant_id=TENANT, instruction=instruction, notify=ME,
                                                request_id=f"req-{len(made)}"))
        await book.set_status(SetWorkflowStatus(tenant_id=TENANT, workflow_id=view.id, status="enabled"))
        made.append(view.id)
    with pytest.raises(NotCompiled):  # CRM sync does not follow anomalies
        await book.create(CreateWorkflow(tenant_id=TENANT, instruction="when an anomaly is detected, sync the "
                                                                       "lead to the CRM", request_id="req-crm"))

    envelope = envelope_for(detected(), tenant_id=TENANT, source="workflow-executor")
    await runner(Delivery(envelope, detected(), 1, "workflow-executor-workflows-anomaly-detected", units))

    [run] = (await book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=made[0]))).data
    assert (run.status, run.event_type, run.lead_id) == ("completed", "anomaly.detected", None)
    [skipped] = (await book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=made[1]))).data
    assert skipped.status == "skipped" and "event.severity" in (skipped.reason or "")
    [email] = [e.data for e in await committed_events(units.db, messaging)
               if e.type == NotificationRequested.type_name()]
    assert (email["channel"], email["to"], email["recipient"]) == ("email", "ops@example.com", "tenant")
    assert email["body"] == "AFO anomaly: key_messages of key key_1: 42 messages against a usual 1.5 (critical)"
    assert email["subject"].startswith("anomaly.detected: AFO anomaly: key_messages")
