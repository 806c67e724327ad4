"""Event entrypoints: the durable consumers workflow-executor reads."""

from __future__ import annotations

from afo_common.events.conversation import MeetingCancelRequested, MeetingRequested
from afo_common.events.streams import CONVERSATION
from afo_common.messaging.consumer import ConsumerSpec

# A booking may wait on an outside calendar's answer (its client retries within its own timeouts).
MEETING_REQUESTED = ConsumerSpec(durable="workflow-executor-meeting-requested", stream=CONVERSATION,
                                 event=MeetingRequested, max_deliver=5, max_handle_s=60.0)
MEETING_CANCEL_REQUESTED = ConsumerSpec(durable="workflow-executor-meeting-cancel-requested", stream=CONVERSATION,
                                        event=MeetingCancelRequested, max_deliver=5, max_handle_s=60.0)
