"""Anomaly detection's entrypoints: one durable consumer per event that feeds a signal (a JetStream consumer
filters one event subject; ``domain/anomaly_signals.py`` says what each feeds), all counted together in batches,
the tick that closes ended buckets, and the RPCs that list a tenant's anomalies and every tenant's (operators)."""

from __future__ import annotations

from afo_common.events import Event
from afo_common.events.conversation import ConversationStarted, LeadQualified, TurnsTallied
from afo_common.events.streams import CONVERSATION, NOTIFICATION, WORKFLOW
from afo_common.events.webhooks import WebhookDelivered, WebhookFailed
from afo_common.events.workflow import CrmFailed, CrmSynced, MeetingBooked, MeetingFailed
from afo_common.messaging.consumer import ConsumerSpec
from afo_common.rpcs.workflow_executor_anomalies import LIST_ANOMALIES, LIST_PLATFORM_ANOMALIES, OPERATIONS
from afo_common.service import Service
from afo_workflow_executor.handlers.anomalies import AnomalyDetector

COUNTED: tuple[tuple[str, str, type[Event]], ...] = (
    ("workflow-executor-anomalies-conversation-started", CONVERSATION, ConversationStarted),
    ("workflow-executor-anomalies-turns-tallied", CONVERSATION, TurnsTallied),
    ("workflow-executor-anomalies-lead-qualified", CONVERSATION, LeadQualified),
    ("workflow-executor-anomalies-meeting-booked", WORKFLOW, MeetingBooked),
    ("workflow-executor-anomalies-meeting-failed", WORKFLOW, MeetingFailed),
    ("workflow-executor-anomalies-crm-synced", WORKFLOW, CrmSynced),
    ("workflow-executor-anomalies-crm-failed", WORKFLOW, CrmFailed),
    ("workflow-executor-anomalies-webhook-delivered", NOTIFICATION, WebhookDelivered),
    ("workflow-executor-anomalies-webhook-failed", NOTIFICATION, WebhookFailed),
)


def anomaly_consumers() -> list[ConsumerSpec]:
    # A delivery waits only for its batch to commit; the more that wait together, the fewer transactions.
    return [ConsumerSpec(durable=durable, stream=stream, event=event, max_deliver=5, max_workers=64)
            for durable, stream, event in COUNTED]


def register_anomalies(service: Service, detector: AnomalyDetector, tick_s: float) -> None:
    service.consume_batched(anomaly_consumers(), detector.count)
    service.every(tick_s, detector.tick, "close-anomaly-buckets")
    service.serve_rpcs(OPERATIONS, [(LIST_ANOMALIES, detector.list),
                                    (LIST_PLATFORM_ANOMALIES, detector.list_platform)])
