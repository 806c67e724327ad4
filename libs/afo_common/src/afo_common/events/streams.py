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
# Object-store buckets (``messaging.blobs``): each is a stream named ``OBJ_<bucket>`` by nats-py.
DOCUMENTS_BUCKET = "AFO_DOCUMENTS"
RECORDINGS_BUCKET = "AFO_RECORDINGS"
BUCKETS: tuple[str, ...] = (DOCUMENTS_BUCKET, RECORDINGS_BUCKET)


def object_stream(bucket: str) -> str:
    return f"OBJ_{bucket}"


# Which event subjects (after ``afo.<tenant>.``) each stream captures. Entities that belong to one
# context travel in its stream: a lead is born in a conversation, so lead.* is CONVERSATION's.
STREAM_SUBJECTS: dict[str, tuple[str, ...]] = {
    CONVERSATION: ("conversation.>", "lead.>", "handoff.>", "meeting.requested", "meeting.cancel_requested"),
    AGENT: ("agent.>",),
    KNOWLEDGE: ("knowledge.>",),
    CALL: ("call.>",),
    WORKFLOW: ("workflow.>", "meeting.booked", "meeting.failed", "meeting.cancelled", "crm.>", "action.>",
               "anomaly.>"),
    NOTIFICATION: ("notification.>", "webhook.>"),
    TENANT: ("tenant.>", "user.>", "apikey.>", "event_credential.>", "integration.>"),
}


def stream_for_subject(subject: str) -> str | None:
    """The stream that captures an event subject (``afo.<tenant>.<context>.<event>``), or None."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != "afo":
        return None
    context, event = parts[2], parts[3]
    for stream, patterns in STREAM_SUBJECTS.items():
        for pattern in patterns:
            pattern_context, _, pattern_event = pattern.partition(".")
            if pattern_context == context and pattern_event in (">", event):
                return stream
    return None
