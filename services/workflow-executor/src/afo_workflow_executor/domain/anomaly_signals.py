"""Which event feeds which signal of anomaly detection (``domain/anomalies.py``), and with what.

| event | signal (scope) | amount / volume |
|---|---|---|
| ``conversation.started`` | qualification_rate, booking_rate (agent) | 0 / 1: a conversation started |
| ``lead.qualified`` | qualification_rate (agent) | 1 / 0 |
| ``meeting.booked`` | booking_rate (agent), unless a reschedule | 1 / 0 |
| ``meeting.booked`` / ``meeting.failed`` | booking_failures (agent) | 0 / 1 and 1 / 1 |
| ``conversation.message_replied`` of a turn | reply_latency (agent) | its ``completed_ms`` / 1 |
|  | reply_errors (agent) | 1 when its ``fallback`` (the model failed), else 0 / 1 |
| ``conversation.message_received`` with a ``key_id`` | key_messages (key) | 1 / 1 |
| ``crm.synced`` / ``crm.failed`` | crm_failures (tenant) | 0 / 1 and 1 / 1 |
| ``webhook.delivered`` / ``webhook.failed`` | webhook_failures (tenant) | 0 / 1 and 1 / 1 |

Not counted: a ``meeting.failed`` with reason ``no_calendar`` (Calendly's scheduling link: the way it books, not
a failure); a reply the agent said on its own, not to a turn (a greeting, a booking offer: ``completed_ms`` 0);
a message without a key (a console user, an SMS, a call)."""

from __future__ import annotations

from datetime import datetime

from afo_common.events import Event
from afo_common.events.conversation import ConversationStarted, LeadQualified, MessageReceived, MessageReplied
from afo_common.events.webhooks import WebhookDelivered, WebhookFailed
from afo_common.events.workflow import CrmFailed, CrmSynced, MeetingBooked, MeetingFailed
from afo_workflow_executor.domain.anomalies import Observation


def observations(payload: Event, tenant_id: str, at: datetime) -> list[Observation]:
    match payload:
        case ConversationStarted(agent_id=agent):
            return [Observation("qualification_rate", agent, at, 0.0, 1),
                    Observation("booking_rate", agent, at, 0.0, 1)]
        case LeadQualified(agent_id=agent):
            return [Observation("qualification_rate", agent, at, 1.0, 0)]
        case MeetingBooked(agent_id=agent, rescheduled_from=rescheduled):
            booked = [] if rescheduled else [Observation("booking_rate", agent, at, 1.0, 0)]
            return [*booked, Observation("booking_failures", agent, at, 0.0, 1)]
        case MeetingFailed(agent_id=agent, reason=reason) if reason != "no_calendar":
            return [Observation("booking_failures", agent, at, 1.0, 1)]
        case MessageReplied(agent_id=str(agent), completed_ms=ms, fallback=fallback) if ms > 0:
            return [Observation("reply_latency", agent, at, ms, 1),
                    Observation("reply_errors", agent, at, 1.0 if fallback else 0.0, 1)]
        case MessageReceived(key_id=str(key)):
            return [Observation("key_messages", key, at, 1.0, 1)]
        case CrmSynced() | WebhookDelivered():
            return [Observation("crm_failures" if isinstance(payload, CrmSynced) else "webhook_failures", tenant_id,
                                at, 0.0, 1)]
        case CrmFailed() | WebhookFailed():
            return [Observation("crm_failures" if isinstance(payload, CrmFailed) else "webhook_failures", tenant_id,
                                at, 1.0, 1)]
    return []
