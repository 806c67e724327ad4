"""CRM sync's entrypoints: the durable consumers that keep the lead projection and sync the CRM (one per
event: a JetStream consumer filters one event subject), and the RPC that lists a lead's syncs."""

from __future__ import annotations

from afo_common.events import Event
from afo_common.events.conversation import ConversationAnalyzed, LeadCreated, LeadQualified, LeadUpdated
from afo_common.events.streams import CONVERSATION, WORKFLOW
from afo_common.events.workflow import MeetingBooked, MeetingCancelled
from afo_common.messaging.consumer import ConsumerSpec, Handler
from afo_common.rpcs.workflow_executor_crm import LIST_CRM_SYNCS, OPERATIONS
from afo_common.service import Service
from afo_workflow_executor.handlers.crm_runs import CrmRuns

MAX_DELIVER = 5
CONSUMED: tuple[tuple[str, str, type[Event]], ...] = (
    ("workflow-executor-crm-lead-created", CONVERSATION, LeadCreated),
    ("workflow-executor-crm-lead-updated", CONVERSATION, LeadUpdated),
    ("workflow-executor-crm-lead-qualified", CONVERSATION, LeadQualified),
    ("workflow-executor-crm-conversation-analyzed", CONVERSATION, ConversationAnalyzed),
    ("workflow-executor-crm-meeting-booked", WORKFLOW, MeetingBooked),
    ("workflow-executor-crm-meeting-cancelled", WORKFLOW, MeetingCancelled),
)


def crm_consumers() -> list[ConsumerSpec]:
    # A sync waits out a provider's Retry-After inside the delivery (the heartbeat keeps it alive, up to
    # max_handle_s: two steps of three attempts with Retry-After capped at 30 s fit); the backoff between
    # deliveries gives a provider that is down a minute to come back before crm.failed.
    return [ConsumerSpec(durable=durable, stream=stream, event=event, max_deliver=MAX_DELIVER,
                         backoff_s=(1.0, 5.0, 15.0, 40.0), max_workers=8, max_handle_s=300.0)
            for durable, stream, event in CONSUMED]


def register_crm(service: Service, sync: Handler, runs: CrmRuns) -> None:
    """``sync``: ``CrmSync``, or it behind the tenant's workflows (``GatedCrmSync``)."""
    for spec in crm_consumers():
        service.consume(spec, sync)
    service.serve_rpcs(OPERATIONS, [(LIST_CRM_SYNCS, runs.list)])
