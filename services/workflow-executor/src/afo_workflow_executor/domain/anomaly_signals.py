"""Which event feeds which signal of anomaly detection (``domain/anomalies.py``), and with what.

| event | signal (scope) | amount / volume |
|---|---|---|
| ``conversation.started`` | qualification_rate, booking_rate (agent) | 0 / 1: a conversation started |
| ``lead.qualified`` | qualification_rate (agent) | 1 / 0 |
| ``meeting.booked`` | booking_rate (agent), unless a reschedule | 1 / 0 |
| ``meeting.booked`` / ``meeting.failed`` | booking_failures (agent) | 0 / 1 and 1 / 1 |
| ``conversation.turns_tallied`` (a window's turns) | reply_latency (agent) | ``reply_ms_total`` / ``replies`` |
|  | reply_errors (agent) | ``fallbacks`` (the model failed) / ``replies`` |
|  | key_messages (key), with a ``key_id`` | ``messages`` / ``messages`` |
| ``crm.synced`` / ``crm.failed`` | crm_failures (tenant) | 0 / 1 and 1 / 1 |
| ``webhook.delivered`` / ``webhook.failed`` | webhook_failures (tenant) | 0 / 1 and 1 / 1 |

Not counted: a ``meeting.failed`` with reason ``no_calendar`` (Calendly's scheduling link: the way it books, not
a failure); a reply the agent said on its own, not to a turn (a greeting, a booking offer: agent-runtime tallies
turns only); messages without a key (a console user, an SMS, a call) in key_messages.

The message path's signals come from tallies, not from ``message_received`` / ``message_replied``: agent-runtime
counts each turn in the turn's own transaction and sends a window's counts as one event (``afo_common.tallies``),
so this service costs the text path nothing per message. A tally counts at its window's start."""

from __future__ import annotations

from datetime import datetime

from afo_common.events import Event
from afo_common.events.conversation import ConversationStarted, LeadQualified, TurnsTallied
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
        case TurnsTallied(agent_id=agent, key_id=key, window_start=start, messages=messages, replies=replies):
            tallied = [Observation("reply_latency", agent, start, payload.reply_ms_total, replies),
                       Observation("reply_errors", agent, start, float(payload.fallbacks), replies)] if replies else []
            if key is not None and messages:
                tallied.append(Observation("key_messages", key, start, float(messages), messages))
            return tallied
        case CrmSynced() | WebhookDelivered():
            return [Observation("crm_failures" if isinstance(payload, CrmSynced) else "webhook_failures", tenant_id,
                                at, 0.0, 1)]
        case CrmFailed() | WebhookFailed():
            return [Observation("crm_failures" if isinstance(payload, CrmFailed) else "webhook_failures", tenant_id,
                                at, 1.0, 1)]
    return []
