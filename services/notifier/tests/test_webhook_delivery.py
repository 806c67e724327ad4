"""Subscriptions, fan-out and the delivery worker on a real store (SQLite, PostgreSQL), sending through the
real sender to local receivers that verify every signature."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from afo_common.clock import SystemClock
from afo_common.events import Envelope, Event, envelope_for
from afo_common.events.conversation import LeadQualified
from afo_common.events.notification import NotificationSent
from afo_common.events.webhooks import WebhookDelivered
from afo_common.events.workflow import MeetingCancelled
from afo_common.events.workflow_runs import WebhookRequested
from afo_common.messaging.consumer import Delivery, DuplicateDelivery, PermanentError
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import notifier_webhooks as ops
from afo_notifier.adapters.store import SqlRepositories
from afo_notifier.adapters.tables import messaging
from afo_notifier.adapters.webhook_sender import WebhookSender
from afo_notifier.domain.endpoints import EndpointNotAllowed
from afo_notifier.domain.webhooks import InvalidSubscription, RetrySchedule
from afo_notifier.handlers.dispatch import Dispatcher
from afo_notifier.handlers.fanout import EventFanout, active_subscriptions
from afo_notifier.handlers.subscription_cache import LocalChanges, SubscriptionCache
from afo_notifier.handlers.subscriptions import Conflict, NotFound, Subscriptions
from afo_notifier.handlers.workflow_steps import WorkflowWebhooks
from afo_testkit.local_server import serving
from afo_testkit.stores import committed_events
from afo_testkit.webhook_receiver import Receiver, public_loopback

TENANT = "ten_a"
# Retries due at once, so a test steps the schedule without waiting.
NO_WAIT = RetrySchedule(delays_s=(0.0, 0.0, 0.0, 0.0), jitter=0.0, disable_after=5)


@dataclass
class Webhooks:
    store: SqlStore[SqlRepositories]
    units: UnitOfWorkFactory
    subscriptions: Subscriptions
    fanout: EventFanout
    dispatcher: Dispatcher

    async def subscribe(self, url: str, events: list[str], tenant: str = TENANT) -> ops.CreatedSubscription:
        return await self.subscriptions.create(ops.CreateSubscription(
            tenant_id=tenant, subscription=ops.SubscriptionBody(url=url, events=events)))

    async def arrive(self, envelope: Envelope, payload: Event, consumer: str = "notifier-webhooks-conversation"
                     ) -> None:
        await self.fanout(Delivery(envelope, payload, 1, consumer, self.units))

    async def settle(self) -> None:
        """Rounds of the worker until nothing is due (retries here are due at once)."""
        for _ in range(50):
            await self.dispatcher.idle()
            if not await self.dispatcher.dispatch_due():
                return
        raise AssertionError("deliveries still due after 50 rounds")

    async def log(self, subscription_id: str, tenant: str = TENANT) -> list[ops.DeliveryView]:
        page = await self.subscriptions.deliveries(ops.ListDeliveries(tenant_id=tenant,
                                                                      subscription_id=subscription_id))
        return page.data


def qualified(tenant: str = TENANT) -> tuple[Envelope, LeadQualified]:
    payload = LeadQualified(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1", fields={"name": "Ada"})
    return envelope_for(payload, tenant_id=tenant, source="agent-runtime"), payload


@pytest.fixture
def schedule() -> RetrySchedule:
    return NO_WAIT


@pytest.fixture
async def hooks(store: SqlStore[SqlRepositories], units: UnitOfWorkFactory,
                schedule: RetrySchedule) -> AsyncIterator[Webhooks]:
    # The production guard, with 127.0.0.1 (the receivers) counted public.
    sender = WebhookSender(judge=public_loopback, timeout_s=5.0)
    clock = SystemClock()
    cache = SubscriptionCache(active_subscriptions(store))
    changes = LocalChanges(cache)
    dispatcher = Dispatcher(store, sender, clock, schedule, per_subscription=2, changes=changes)
    yield Webhooks(store, units, Subscriptions(store, clock, public_loopback, dispatcher.wake, changes),
                   EventFanout(store, clock, dispatcher.wake, cache), dispatcher)
    await dispatcher.stop()
    await sender.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    got = Receiver()
    async with serving(got.app()) as port:
        yield got, f"http://127.0.0.1:{port}/hook"


def attempts_counted(outcome: str) -> float:
    """afo_webhook_deliveries_total now (afo_notifier.metrics), 0 before its first increment."""
    return REGISTRY.get_sample_value("afo_webhook_deliveries_total", {"service": "notifier", "outcome": outcome}) or 0.0


def responses_timed() -> float:
    return REGISTRY.get_sample_value("afo_webhook_response_seconds_count", {"service": "notifier"}) or 0.0


async def test_failures_are_retried_until_the_endpoint_recovers_and_the_log_shows_each_attempt(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    got.planned = [500, 503]
    delivered, failed, timed = attempts_counted("delivered"), attempts_counted("failed"), responses_timed()
    sub = await hooks.subscribe(url, ["lead.qualified"])
    got.secret = sub.secret
    envelope, payload = qualified()

    await hooks.arrive(envelope, payload)
    await hooks.settle()

    assert [r.signature_valid for r in got.received] == [True, True, True]
    assert {r.headers["webhook-id"] for r in got.received} == {envelope.id}
    assert got.received[-1].envelope == json.loads(envelope.to_bytes())
    [delivery] = await hooks.log(sub.id)
    assert (delivery.status, delivery.attempts, delivery.event_id, delivery.event_type) == (
        "delivered", 3, envelope.id, "afo.lead.qualified.v1")
    assert [(a.attempt, a.status_code, a.error) for a in delivery.log] == [
        (1, 500, "answered 500"), (2, 503, "answered 503"), (3, 200, None)]
    assert all(a.response_ms is not None for a in delivery.log)
    assert (attempts_counted("delivered"), attempts_counted("failed")) == (delivered + 1, failed + 2)
    assert responses_timed() == timed + 3
    events = await committed_events(hooks.units.db, messaging)
    assert [e.type for e in events] == ["afo.webhook.subscription_changed.v1", "afo.webhook.failed.v1",
                                       "afo.webhook.failed.v1", "afo.webhook.delivered.v1"]
    assert sub.secret is not None
    assert all(sub.secret not in e.to_bytes().decode() and "Ada" not in e.to_bytes().decode() for e in events)


async def test_an_endpoint_failing_the_whole_schedule_disables_the_subscription(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    got.planned = [500] * 20
    sub = await hooks.subscribe(url, ["*"])
    envelope, payload = qualified()

    await hooks.arrive(envelope, payload)
    await hooks.settle()

    assert len(got.received) == NO_WAIT.disable_after
    [delivery] = await hooks.log(sub.id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 5, None)
    view = await hooks.subscriptions.get(ops.SubscriptionRef(tenant_id=TENANT, subscription_id=sub.id))
    assert (view.status, view.disabled_reason) == ("disabled", "failing")
    events = await committed_events(hooks.units.db, messaging)
    assert [e.type for e in events][-3:] == ["afo.webhook.failed.v1", "afo.webhook.subscription_disabled.v1",
                                             "afo.webhook.subscription_changed.v1"]
    assert events[-3].data["final"] is True

    # Events for a disabled subscription make no deliveries; a replay is refused.
    again, again_payload = qualified()
    await hooks.arrive(again, again_payload)
    assert len(await hooks.log(sub.id)) == 1
    with pytest.raises(Conflict):
        await hooks.subscriptions.replay(ops.DeliveryRef(tenant_id=TENANT, subscription_id=sub.id,
                                                         delivery_id=delivery.id))


async def test_410_gone_disables_the_subscription_at_once(hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    got.planned = [410]
    gone = attempts_counted("gone")
    sub = await hooks.subscribe(url, ["lead.qualified"])
    await hooks.arrive(*qualified())
    await hooks.settle()

    assert attempts_counted("gone") == gone + 1

    assert len(got.received) == 1
    view = await hooks.subscriptions.get(ops.SubscriptionRef(tenant_id=TENANT, subscription_id=sub.id))
    assert (view.status, view.disabled_reason) == ("disabled", "gone")
    [delivery] = await hooks.log(sub.id)
    assert delivery.status == "failed"


async def test_a_disabled_subscription_enabled_again_gets_events_and_starts_counting_failures_anew(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    got.planned = [410]
    sub = await hooks.subscribe(url, ["lead.qualified"])
    got.secret = sub.secret
    await hooks.arrive(*qualified())
    await hooks.settle()
    ref = ops.SubscriptionRef(tenant_id=TENANT, subscription_id=sub.id)
    assert (await hooks.subscriptions.get(ref)).status == "disabled"
    # While disabled, an event makes no delivery (the cache was told of the change, the store agrees).
    await hooks.arrive(*qualified())
    assert len(await hooks.log(sub.id)) == 1

    enabled = await hooks.subscriptions.enable(ref)

    assert (enabled.status, enabled.disabled_reason) == ("active", None)
    async with hooks.store.reading() as repos:
        row = await repos.webhooks.subscription(TENANT, sub.id)
    assert row is not None and row.consecutive_failures == 0
    envelope, payload = qualified()
    await hooks.arrive(envelope, payload)
    await hooks.settle()
    assert got.received[-1].headers["webhook-id"] == envelope.id and got.received[-1].signature_valid
    events = await committed_events(hooks.units.db, messaging)
    assert [e.data["change"] for e in events if e.type == "afo.webhook.subscription_changed.v1"] == [
        "created", "disabled", "enabled"]
    # Enabling an active subscription answers it as it is; another tenant's is not found.
    assert (await hooks.subscriptions.enable(ref)).status == "active"
    with pytest.raises(NotFound):
        await hooks.subscriptions.enable(ops.SubscriptionRef(tenant_id="ten_b", subscription_id=sub.id))


async def test_an_event_no_subscription_wants_costs_no_read_and_a_new_subscription_is_seen_at_once(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    cache = hooks.fanout._cache
    for _ in range(5):
        await hooks.arrive(*qualified())
    assert cache.loads == 1

    sub = await hooks.subscribe(url, ["lead.qualified"])  # drops the tenant's entry here
    envelope, payload = qualified()
    await hooks.arrive(envelope, payload)
    await hooks.settle()
    assert cache.loads == 2
    assert [r.headers["webhook-id"] for r in got.received] == [envelope.id]

    await hooks.subscriptions.delete(ops.SubscriptionRef(tenant_id=TENANT, subscription_id=sub.id))
    await hooks.arrive(*qualified())
    assert cache.loads == 3 and len(got.received) == 1


async def test_a_stale_cache_entry_writes_no_delivery_for_a_deleted_subscription(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    _got, url = receiver
    sub = await hooks.subscribe(url, ["lead.qualified"])
    cache = hooks.fanout._cache
    assert await cache.wanted(TENANT, "afo.lead.qualified.v1") == [sub.id]
    async with hooks.store() as uow:  # deleted behind the cache's back (as by a replica not heard from yet)
        await uow.webhooks.delete_subscription(TENANT, sub.id)

    await hooks.arrive(*qualified())

    async with hooks.store.reading() as repos:
        assert await repos.webhooks.deliveries(TENANT, sub.id, 10, None) == []
    assert await cache.wanted(TENANT, "afo.lead.qualified.v1") == []  # the entry was dropped


async def test_outcomes_are_recorded_in_batches_with_one_lease_per_round(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    subs = [await hooks.subscribe(f"{url}/{n}", ["lead.qualified"]) for n in range(5)]
    for _ in range(4):
        await hooks.arrive(*qualified())
    batches: list[int] = []
    record = hooks.dispatcher._record

    async def counted(batch: list[Any]) -> None:
        batches.append(len(batch))
        await record(batch)

    hooks.dispatcher._record = counted  # type: ignore[method-assign]
    # per_subscription=2: the first round leases two of each subscription's four, oldest first.
    assert await hooks.dispatcher.dispatch_due() == 10
    await hooks.settle()

    assert len(got.received) == 20
    assert sum(batches) == 20 and len(batches) < 20
    for sub in subs:
        log = await hooks.log(sub.id)
        assert [d.status for d in log] == ["delivered"] * 4
        assert all(len(d.log) == 1 for d in log)


async def test_the_same_event_arriving_twice_is_delivered_once(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    sub = await hooks.subscribe(url, ["lead.qualified"])
    envelope, payload = qualified()

    await hooks.arrive(envelope, payload)
    with pytest.raises(DuplicateDelivery):
        await hooks.arrive(envelope, payload)
    # Even through another consumer (its own inbox), the (subscription, event) pair is delivered once.
    await hooks.arrive(envelope, payload, consumer="notifier-webhooks-other")
    await hooks.settle()

    assert len(got.received) == 1
    assert len(await hooks.log(sub.id)) == 1


async def test_only_the_tenants_subscriptions_that_name_the_event_get_it(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    wanted = await hooks.subscribe(url + "/wanted", ["lead.qualified"])
    await hooks.subscribe(url + "/other-event", ["meeting.booked"])
    await hooks.subscribe(url + "/other-tenant", ["*"], tenant="ten_b")
    cancelled = MeetingCancelled(meeting_id="mtg_1", conversation_id=None, agent_id="agt_1", lead_id=None,
                                 by="tenant")

    await hooks.arrive(*qualified())
    await hooks.arrive(envelope_for(cancelled, tenant_id=TENANT, source="workflow-executor"), cancelled,
                       consumer="notifier-webhooks-workflow")
    await hooks.settle()

    assert [r.path for r in got.received] == ["/hook/wanted"]
    assert len(await hooks.log(wanted.id)) == 1


async def test_a_replay_sends_a_delivered_event_again(hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    sub = await hooks.subscribe(url, ["lead.qualified"])
    await hooks.arrive(*qualified())
    await hooks.settle()
    [delivery] = await hooks.log(sub.id)

    replayed = await hooks.subscriptions.replay(ops.DeliveryRef(tenant_id=TENANT, subscription_id=sub.id,
                                                                delivery_id=delivery.id))
    assert replayed.status == "pending"
    await hooks.settle()

    assert len(got.received) == 2
    [after] = await hooks.log(sub.id)
    assert (after.status, after.attempts) == ("delivered", 2)


async def test_a_hanging_endpoint_does_not_hold_up_another_subscription(hooks: Webhooks) -> None:
    hanging, healthy = Receiver(hang=True), Receiver()
    async with serving(hanging.app()) as hang_port, serving(healthy.app()) as ok_port:
        await hooks.subscribe(f"http://127.0.0.1:{hang_port}/hook", ["lead.qualified"])
        await hooks.subscribe(f"http://127.0.0.1:{ok_port}/hook", ["lead.qualified"])
        for _ in range(6):
            await hooks.arrive(*qualified())

        await hooks.dispatcher.dispatch_due()
        while len(healthy.received) < 6:  # the healthy one's deliveries go on while two hang
            await hooks.dispatcher.dispatch_due()
            await asyncio.sleep(0.01)
        assert len(hanging.received) == 2  # per_subscription: never more of one subscription in flight
        hanging.release.set()
        await hooks.settle()
    assert len(hanging.received) == 6


async def test_another_tenants_subscription_and_deliveries_are_not_found(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    _, url = receiver
    sub = await hooks.subscribe(url, ["lead.qualified"])
    await hooks.arrive(*qualified())
    [delivery] = await hooks.log(sub.id)
    other = "ten_b"

    with pytest.raises(NotFound):
        await hooks.subscriptions.get(ops.SubscriptionRef(tenant_id=other, subscription_id=sub.id))
    with pytest.raises(NotFound):
        await hooks.log(sub.id, tenant=other)
    with pytest.raises(NotFound):
        await hooks.subscriptions.replay(ops.DeliveryRef(tenant_id=other, subscription_id=sub.id,
                                                         delivery_id=delivery.id))
    with pytest.raises(NotFound):
        await hooks.subscriptions.delete(ops.SubscriptionRef(tenant_id=other, subscription_id=sub.id))
    listed = await hooks.subscriptions.list(ops.ListSubscriptions(tenant_id=other))
    assert listed.data == []
    assert (await hooks.subscriptions.delete(ops.SubscriptionRef(tenant_id=TENANT, subscription_id=sub.id))).deleted


async def test_a_notification_event_is_delivered_but_a_webhook_deliverys_own_event_never_is(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    """``*`` takes ``notification.sent``; ``webhook.delivered`` reaching the fan-out (its stream is consumed
    whole) makes no delivery, or every delivery would make another."""
    got, url = receiver
    everything = await hooks.subscribe(url + "/all", ["*"])
    sent = NotificationSent(notification_id="ntf_1", meeting_id="mtg_1", lead_id="lead_1", kind="reminder",
                            channel="sms", to="+33•••••5678", provider="sink",
                            sent_at=datetime.now(UTC))
    await hooks.arrive(envelope_for(sent, tenant_id=TENANT, source="notifier"), sent,
                       consumer="notifier-webhooks-notification")
    await hooks.settle()
    [delivery] = await hooks.log(everything.id)
    assert delivery.event_type == "afo.notification.sent.v1"
    own = WebhookDelivered(subscription_id=everything.id, delivery_id=delivery.id, event_id=delivery.event_id,
                           event_type=delivery.event_type, status_code=200, attempt=1)
    await hooks.arrive(envelope_for(own, tenant_id=TENANT, source="notifier"), own,
                       consumer="notifier-webhooks-notification")
    await hooks.settle()
    assert [r.path for r in got.received] == ["/hook/all"]
    assert len(await hooks.log(everything.id)) == 1


async def test_a_workflows_webhook_step_goes_to_the_subscription_of_its_url_signed_and_an_unknown_url_is_refused(
        hooks: Webhooks, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    target = await hooks.subscribe(url + "/crm-failed", ["meeting.booked"])
    got.secret = target.secret
    await hooks.subscribe(url + "/elsewhere", ["*"])
    calls = WorkflowWebhooks(hooks.store, hooks.fanout)
    step = WebhookRequested(workflow_id="wfl_1", run_id="wfr_1", step=0, idempotency_key="wfr_1:0",
                            lead_id="lead_1", conversation_id=None, url=url + "/crm-failed", trigger="crm.failed",
                            data={"lead_id": "lead_1", "reason": "HTTP 401"})
    await calls(Delivery(envelope_for(step, tenant_id=TENANT, source="workflow-executor"), step, 1,
                         "notifier-workflow-webhook", hooks.units))
    await hooks.settle()
    [call] = got.received
    assert call.path == "/hook/crm-failed" and call.signature_valid
    assert call.envelope["type"] == "afo.workflow.webhook_requested.v1"
    assert call.envelope["data"]["data"] == {"lead_id": "lead_1", "reason": "HTTP 401"}
    assert [d.status for d in await hooks.log(target.id)] == ["delivered"]

    nowhere = step.model_copy(update={"url": "https://hooks.example.com/not-subscribed"})
    with pytest.raises(PermanentError, match="no active webhook subscription"):
        await calls(Delivery(envelope_for(nowhere, tenant_id=TENANT, source="workflow-executor"), nowhere, 1,
                             "notifier-workflow-webhook", hooks.units))


@pytest.mark.parametrize(("url", "events", "error"), [
    ("https://hooks.example.com/afo", ["lead.qualifed"], InvalidSubscription),
    ("https://hooks.example.com/afo", ["webhook.delivered"], InvalidSubscription),  # not for integrators
    ("http://[::1]:8080/hook", ["lead.qualified"], EndpointNotAllowed),
    ("http://169.254.169.254/latest", ["lead.qualified"], EndpointNotAllowed),
    ("http://10.1.2.3/hook", ["*"], EndpointNotAllowed),
    ("file:///etc/passwd", ["*"], EndpointNotAllowed),
])
async def test_a_subscription_to_an_unknown_event_or_a_refused_url_is_not_made(
        hooks: Webhooks, url: str, events: list[str], error: type[Exception]) -> None:
    with pytest.raises(error):
        await hooks.subscribe(url, events)
    assert (await hooks.subscriptions.list(ops.ListSubscriptions(tenant_id=TENANT))).data == []


async def test_the_secret_is_answered_on_create_only(hooks: Webhooks) -> None:
    created = await hooks.subscribe("https://hooks.example.com/afo", ["lead.qualified", "lead.qualified", "*"])
    assert created.secret is not None and created.secret.startswith("whsec_") and created.id.startswith("whk_")
    assert created.events == ["lead.qualified", "*"]
    view = await hooks.subscriptions.get(ops.SubscriptionRef(tenant_id=TENANT, subscription_id=created.id))
    assert "secret" not in view.model_dump()
