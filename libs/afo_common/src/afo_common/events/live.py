"""The events a tenant watches live (the gateway's ``GET /v1/realtime`` and the console's live views), and of
each, the fields of its ``data`` that a live view is given.

Each line is one event subject: the gateway's NATS user may subscribe to exactly these
(``nats_security.permissions``), one subscription each in a gateway process, fanned out in memory to the
tenant's listeners. What is not listed never reaches a listener: a step a workflow asks of another service
(an SMS body, a URL the tenant wrote), a document's storage name, a provider's error text, a reply's route
(the lead's phone or email). What is listed is no more than the tenant's own API returns to a reader: a
message's text, a lead's fields, a conversation's contact, addresses already masked. Adding a subject (an
anomaly detector's ``<context>.anomaly_detected``, say) is one line here and a regenerated NATS
configuration (``afo nats config``)."""

from __future__ import annotations

LIVE_FIELDS: dict[str, tuple[str, ...]] = {
    # conversations and their messages
    "conversation.started": ("conversation_id", "agent_id", "agent_version", "channel", "contact"),
    "conversation.message_received": ("conversation_id", "message_id", "channel", "text", "sent_at", "sequence"),
    "conversation.message_replied": ("conversation_id", "message_id", "in_reply_to", "text", "intent", "engine",
                                     "agent_id", "lead_id", "first_delta_ms", "completed_ms"),
    "conversation.opted_out": ("conversation_id", "lead_id", "channel"),
    "conversation.closed": ("conversation_id", "agent_id", "reason"),
    "conversation.analyzed": ("conversation_id", "agent_id", "lead_id", "outcome", "summary", "next_step"),
    "handoff.requested": ("conversation_id", "agent_id", "lead_id", "reason"),
    # leads
    "lead.created": ("lead_id", "conversation_id", "agent_id", "fields"),
    "lead.updated": ("lead_id", "conversation_id", "fields", "changed"),
    "lead.qualified": ("lead_id", "conversation_id", "agent_id", "fields"),
    # calls (no audio, no text: the words are the conversation's messages)
    "call.started": ("call_id", "conversation_id", "agent_id", "transport", "direction", "caller", "started_at"),
    "call.turn_completed": ("call_id", "conversation_id", "index", "message_id", "interrupted", "latency"),
    "call.ended": ("call_id", "conversation_id", "agent_id", "reason", "duration_s", "turns", "ended_at"),
    # agents
    "agent.created": ("agent_id", "name"),
    "agent.updated": ("agent_id", "changed"),
    "agent.published": ("agent_id", "version"),
    "agent.deleted": ("agent_id",),
    # knowledge: a document's way to ready (or failed)
    "knowledge.document_uploaded": ("knowledge_base_id", "document_id", "name", "media_type", "size_bytes"),
    "knowledge.document_progress": ("knowledge_base_id", "document_id", "status", "progress", "chunks_done",
                                    "chunks_total"),
    "knowledge.document_ingested": ("knowledge_base_id", "document_id", "chunks", "pages"),
    "knowledge.document_failed": ("knowledge_base_id", "document_id", "code", "reason"),
    "knowledge.document_deleted": ("knowledge_base_id", "document_id"),
    # meetings, CRM syncs and workflow runs
    "meeting.booked": ("meeting_id", "conversation_id", "agent_id", "lead_id", "provider", "start", "end",
                       "timezone", "rescheduled_from"),
    "meeting.failed": ("conversation_id", "agent_id", "lead_id", "reason"),
    "meeting.cancelled": ("meeting_id", "conversation_id", "agent_id", "lead_id", "by"),
    "crm.synced": ("lead_id", "conversation_id", "provider", "record_id", "action"),
    "crm.failed": ("lead_id", "conversation_id", "provider", "status", "attempts"),
    "workflow.run_completed": ("workflow_id", "run_id", "trigger", "status", "steps"),
    # reminders and integrators' webhooks
    "notification.sent": ("notification_id", "meeting_id", "lead_id", "kind", "channel", "to", "sent_at"),
    "notification.failed": ("notification_id", "meeting_id", "lead_id", "kind", "channel", "to"),
    "webhook.delivered": ("subscription_id", "delivery_id", "event_type", "attempt", "status_code"),
    "webhook.failed": ("subscription_id", "delivery_id", "event_type", "attempt", "status_code", "next_attempt_at",
                       "final"),
    "webhook.subscription_disabled": ("subscription_id", "reason", "consecutive_failures"),
    # anomalies of the tenant's agents, keys and deliveries (numbers only)
    "anomaly.detected": ("anomaly_id", "signal", "scope", "agent_id", "key_id", "direction", "observed", "unit",
                         "volume", "baseline_mean", "baseline_sigma", "deviation", "window_start", "window_end",
                         "severity", "detected_at"),
    "anomaly.resolved": ("anomaly_id", "signal", "scope", "agent_id", "key_id", "resolution", "observed",
                         "resolved_at"),
}
LIVE_EVENTS: tuple[str, ...] = tuple(LIVE_FIELDS)
