"""Stream names: one JetStream stream per bounded context, the dead-letter stream, and the stream that
keeps the server's MAX_DELIVERIES advisories until the owning service has dead-lettered the message."""

from __future__ import annotations

CONVERSATION = "CONVERSATION"
AGENT = "AGENT"
KNOWLEDGE = "KNOWLEDGE"
CALL = "CALL"
WORKFLOW = "WORKFLOW"
NOTIFICATION = "NOTIFICATION"
TENANT = "TENANT"
DEAD_LETTER = "DEADLETTER"
ADVISORIES = "ADVISORIES"

# Which event subjects (after ``afo.<tenant>.``) each stream captures. Entities that belong to one
# context travel in its stream: a lead is born in a conversation, so lead.* is CONVERSATION's.
STREAM_SUBJECTS: dict[str, tuple[str, ...]] = {
    CONVERSATION: ("conversation.>", "lead.>", "handoff.>", "meeting.requested"),
    AGENT: ("agent.>",),
    KNOWLEDGE: ("knowledge.>",),
    CALL: ("call.>",),
    WORKFLOW: ("workflow.>", "meeting.booked", "meeting.failed", "meeting.cancelled", "crm.>", "action.>"),
    NOTIFICATION: ("notification.>", "webhook.>"),
    TENANT: ("tenant.>", "user.>", "apikey.>"),
}
