"""Event entrypoints: the durable consumers notifier reads — the reminders' (meetings, the lead's contact and
opt-out), and one per stream integrators may subscribe to, each taking every event its stream captures
(``ConsumerSpec.whole_stream``)."""

from __future__ import annotations

from afo_common.events.conversation import ConversationOptedOut, LeadCreated, LeadUpdated, MessageReplied
from afo_common.events.streams import CONVERSATION, WORKFLOW
from afo_common.events.workflow import MeetingBooked, MeetingCancelled
from afo_common.events.workflow_runs import NotificationRequested, RemindersRequested, WebhookRequested
from afo_common.messaging.consumer import ConsumerSpec
from afo_notifier.domain.webhooks import SUBSCRIBABLE_STREAMS

MEETING_BOOKED = ConsumerSpec(durable="notifier-meeting-booked", stream=WORKFLOW, event=MeetingBooked)
MEETING_CANCELLED = ConsumerSpec(durable="notifier-meeting-cancelled", stream=WORKFLOW, event=MeetingCancelled)
LEAD_CREATED = ConsumerSpec(durable="notifier-lead-created", stream=CONVERSATION, event=LeadCreated)
LEAD_UPDATED = ConsumerSpec(durable="notifier-lead-updated", stream=CONVERSATION, event=LeadUpdated)
OPTED_OUT = ConsumerSpec(durable="notifier-conversation-opted-out", stream=CONVERSATION,
                         event=ConversationOptedOut)
# The agent's replies that go out by SMS or email (those with a reply_route).
MESSAGE_REPLIED = ConsumerSpec(durable="notifier-message-replied", stream=CONVERSATION, event=MessageReplied)
# A tenant's workflow steps notifier carries out.
REMINDERS_REQUESTED = ConsumerSpec(durable="notifier-reminders-requested", stream=WORKFLOW,
                                   event=RemindersRequested)
WORKFLOW_NOTIFICATION = ConsumerSpec(durable="notifier-workflow-notification", stream=WORKFLOW,
                                     event=NotificationRequested)
WORKFLOW_WEBHOOK = ConsumerSpec(durable="notifier-workflow-webhook", stream=WORKFLOW, event=WebhookRequested)
CONSUMERS = (MEETING_BOOKED, MEETING_CANCELLED, LEAD_CREATED, LEAD_UPDATED, OPTED_OUT, MESSAGE_REPLIED,
             REMINDERS_REQUESTED, WORKFLOW_NOTIFICATION, WORKFLOW_WEBHOOK)


def durable(stream: str) -> str:
    return f"notifier-webhooks-{stream.lower()}"


WEBHOOK_SOURCES: tuple[ConsumerSpec, ...] = tuple(
    ConsumerSpec.whole_stream(durable(stream), stream, max_deliver=10) for stream in SUBSCRIBABLE_STREAMS)
