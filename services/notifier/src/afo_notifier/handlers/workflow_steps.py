"""The steps of a tenant's workflows that notifier carries out (``afo_common.events.workflow_runs``).

- ``workflow.notification_requested``: an SMS or email, recorded as a ``workflow`` notification due at once and
  sent by the scheduler like a reminder (the tenant's Twilio/SMTP credentials or the local sinks;
  ``GET /v1/notifications`` shows it). To the lead: skipped when the lead opted out (and checked again at send
  time). To the tenant's own people ("me"): recorded without the lead's id, so the lead's opt-out — which is
  about messages to the lead — does not stop the tenant hearing about it.
- ``workflow.webhook_requested``: delivered like every integrator webhook, to each of the tenant's active
  subscriptions whose URL is the step's — signed with that subscription's secret, retried, in its delivery log,
  replayable; the body is the request's envelope (the step, the trigger, the triggering event's data). The URL
  must belong to a subscription, which is where a secret, the SSRF check and the failure handling live; a step
  naming a URL no subscription has is dead-lettered with that reason.

Each request is one event written in the run's transaction; the inbox makes a redelivered one act once."""

from __future__ import annotations

from afo_common.clock import Clock
from afo_common.events.workflow_runs import NotificationRequested, WebhookRequested
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, PermanentError
from afo_notifier.domain.planning import OPTED_OUT
from afo_notifier.domain.records import NotificationRow, Status
from afo_notifier.handlers.fanout import EventFanout
from afo_notifier.handlers.unit_of_work import Store
from afo_notifier.handlers.webhook_store import WebhookStore


class WorkflowNotifications:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, NotificationRequested)
        tenant, now = delivery.envelope.tenantid, self._clock.now()
        to_lead = event.recipient == "lead"
        async with self._store.handling(delivery) as uow:
            status: Status = "scheduled"
            error = None
            if to_lead and event.lead_id is not None:
                contact = await uow.contacts.get(tenant, event.lead_id)
                if contact is not None and contact.opted_out:
                    status, error = "skipped", OPTED_OUT
            await uow.notifications.add(NotificationRow(
                id=new_id("ntf"), tenant_id=tenant, meeting_id=None, lead_id=event.lead_id if to_lead else None,
                kind="workflow", channel=event.channel, to=event.to, subject=event.subject, body=event.body,
                ics=None, send_at=now, status=status, error=error, provider=None, provider_id=None,
                claimed_by=None, claimed_until=None, sent_at=None, created_at=now, updated_at=now))


class WorkflowWebhooks:
    def __init__(self, store: WebhookStore, fanout: EventFanout) -> None:
        self._store, self._fanout = store, fanout

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, WebhookRequested)
        async with self._store.reading() as repos:
            targets = [s.id for s in await repos.webhooks.active_subscriptions(delivery.envelope.tenantid)
                       if s.url == event.url]
        if not targets:
            raise PermanentError(f"no active webhook subscription has the URL {event.url[:200]!r}: subscribe it "
                                 "(POST /v1/webhook-subscriptions) so its secret signs the workflow's calls")
        await self._fanout.deliver(delivery, targets)
