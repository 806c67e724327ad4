"""Stream names: one JetStream stream per bounded context, plus the dead-letter stream."""

from __future__ import annotations

CONVERSATION = "CONVERSATION"
AGENT = "AGENT"
KNOWLEDGE = "KNOWLEDGE"
CALL = "CALL"
WORKFLOW = "WORKFLOW"
NOTIFICATION = "NOTIFICATION"
TENANT = "TENANT"
DEAD_LETTER = "DEADLETTER"

# Which event subjects (after ``afo.<tenant>.``) each stream captures. Entities that belong to one
# context travel in its stream: a lead is born in a conversation, so lead.* is CONVERSATION's.
STREAM_SUBJECTS: dict[str, tuple[str, ...]] = {
    CONVERSATION: ("conversation.>", "lead.>", "handoff.>", "meeting.requested"),
    AGENT: ("agent.>",),
    KNOWLEDGE: ("knowledge.>",),
    CALL: ("call.>",),
    WORKFLOW: ("workflow.>", "meeting.booked", "meeting.failed", "meeting.cancelled", "crm.>", "action.>"),
    NOTIFICATION: ("notification.>", "webhook.>"),
    TENANT: ("tenant.>", "user.>", "apikey.>", "event_credential.>"),
}
