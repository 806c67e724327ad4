"""Event entrypoints: the durable consumers agent-runtime reads."""

from __future__ import annotations

from afo_agent_runtime.handlers.analyses import ConversationAnalyses
from afo_agent_runtime.handlers.booking_offers import BookingOffers
from afo_agent_runtime.handlers.handoffs import Handoffs
from afo_agent_runtime.handlers.meeting_results import MeetingResults
from afo_agent_runtime.handlers.turns import TurnHandler
from afo_agent_runtime.settings import AgentRuntimeSettings
from afo_common.events.conversation import ConversationClosed, HandoffRequested, MessageReceived
from afo_common.events.streams import CONVERSATION, WORKFLOW
from afo_common.events.workflow import MeetingBooked, MeetingCancelled, MeetingFailed
from afo_common.events.workflow_runs import BookingRequested
from afo_common.messaging.consumer import ConsumerSpec
from afo_common.service import Service

# One consumer per event (a ConsumerSpec reads one event type); the handler copes with any order among them.
MEETING_RESULT_CONSUMERS = (
    ConsumerSpec(durable="agent-runtime-meeting-booked", stream=WORKFLOW, event=MeetingBooked, max_workers=8),
    ConsumerSpec(durable="agent-runtime-meeting-failed", stream=WORKFLOW, event=MeetingFailed, max_workers=8),
    ConsumerSpec(durable="agent-runtime-meeting-cancelled", stream=WORKFLOW, event=MeetingCancelled, max_workers=8),
)
# A tenant's workflow asking the agent to book a meeting with the lead.
BOOKING_REQUESTED = ConsumerSpec(durable="agent-runtime-booking-requested", stream=WORKFLOW,
                                 event=BookingRequested, max_workers=8)
# A model's analysis may take a while; the heartbeat keeps the delivery alive meanwhile.
CLOSED_CONSUMER = ConsumerSpec(durable="agent-runtime-conversation-closed", stream=CONVERSATION,
                               event=ConversationClosed, max_workers=4)

# A person asked for by a tenant's workflow (the agent's own handoffs come back here and find it done).
HANDOFF_REQUESTED = ConsumerSpec(durable="agent-runtime-handoff-requested", stream=CONVERSATION,
                                 event=HandoffRequested, max_workers=8)


def message_received_consumer(settings: AgentRuntimeSettings) -> ConsumerSpec:
    return ConsumerSpec(durable="agent-runtime-message-received", stream=CONVERSATION, event=MessageReceived,
                        max_deliver=settings.max_deliver, ack_wait_s=settings.turn_ack_wait_s,
                        max_handle_s=settings.turn_max_s, max_workers=32)


def register_subscribers(service: Service, turns: TurnHandler, spec: ConsumerSpec, meetings: MeetingResults,
                         offers: BookingOffers, analyses: ConversationAnalyses, handoffs: Handoffs) -> None:
    service.consume(spec, turns)
    for consumer in MEETING_RESULT_CONSUMERS:
        service.consume(consumer, meetings)
    service.consume(BOOKING_REQUESTED, offers)
    service.consume(CLOSED_CONSUMER, analyses)
    service.consume(HANDOFF_REQUESTED, handoffs)
