"""CRM sync on the in-memory store against the HubSpot, Pipedrive and Salesforce stand-ins (real HTTP), and the
built-in lead store: one contact however often an event comes, a lead without email skipped, tenants apart,
a final failure recorded with its reason, a rate limit waited out, a NAK while the provider may recover."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY

from afo_common.events import Envelope, Event, envelope_for
from afo_common.events.conversation import ConversationAnalyzed, LeadCreated, LeadQualified, LeadUpdated
from afo_common.events.workflow import CrmFailed, CrmSynced, MeetingBooked, MeetingCancelled
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.provider_http import RetryPolicy
from afo_testkit.clock import FixedClock
from afo_testkit.crm_servers import FakeHubSpot, FakePipedrive, FakeSalesforce
from afo_workflow_executor.adapters.crm_providers import CrmOpener
from afo_workflow_executor.adapters.memory import memory_store
from afo_workflow_executor.domain.crm_records import CrmSyncRow, ProviderCallRow
from afo_workflow_executor.handlers.crm_sync import NO_EMAIL, CrmSync, RetryLater

TENANT, OTHER = "ten_1", "ten_2"
TOKEN = "pat-na1-secret-token-0123"
FAST = RetryPolicy(attempts=3, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
MAX_DELIVER = 3
FIELDS = {"email": "lee@example.com", "name": "Lee Van Lead", "company": "Acme", "budget": "10k"}
CONTACTS = "/crm/v3/objects/contacts"


class Vault:
    """The tenants' credentials as the gateway would resolve them."""

    def __init__(self) -> None:
        self.fields: dict[tuple[str, str], dict[str, str]] = {}

    async def resolve(self, tenant_id: str, provider: str) -> dict[str, str] | None:
        return self.fields.get((tenant_id, provider))


class Sync:
    def __init__(self) -> None:
        self.store = memory_store()
        self.vault = Vault()
        self.clock = FixedClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        self.handler = CrmSync(self.store, self.vault, CrmOpener(FAST), self.clock, MAX_DELIVER)

    async def deliver(self, event: Event | Delivery, *, tenant: str = TENANT, attempt: int = 1) -> Delivery:
        delivery = event if isinstance(event, Delivery) else Delivery(
            envelope_for(event, tenant_id=tenant, source="agent-runtime"), event, attempt, "crm", cast(Any, None))
        await self.handler(delivery)
        return delivery

    def again(self, delivery: Delivery, attempt: int) -> Delivery:
        return Delivery(delivery.envelope, delivery.payload, attempt, "crm", cast(Any, None))

    def events(self, kind: type[Event]) -> list[tuple[Envelope, Any]]:
        return [(e, kind.model_validate(e.data)) for e in self.store.outbox if e.type == kind.type_name()]

    def syncs(self) -> list[CrmSyncRow]:
        return sorted(self.store.tables.crm_syncs.values(), key=lambda s: s.id)

    def calls(self, sync_id: str) -> dict[str, ProviderCallRow]:
        return {c.step: c for c in self.store.tables.provider_calls.values() if c.sync_id == sync_id}


def qualified(lead_id: str = "lead_1", fields: dict[str, str] | None = None) -> LeadQualified:
    return LeadQualified(lead_id=lead_id, conversation_id="conv_1", agent_id="agt_1", fields=fields or FIELDS)


def analyzed(lead_id: str = "lead_1") -> ConversationAnalyzed:
    return ConversationAnalyzed(conversation_id="conv_1", agent_id="agt_1", lead_id=lead_id,
                                summary="Wants a demo next week", outcome="qualified", facts={}, next_step="Demo",
                                engine="embedded")


@pytest.fixture
def sync() -> Sync:
    return Sync()


@pytest.fixture
async def hubspot(sync: Sync) -> AsyncIterator[FakeHubSpot]:
    async with FakeHubSpot(secret=TOKEN) as server:
        sync.vault.fields[(TENANT, "hubspot")] = {"access_token": TOKEN, "base_url": server.base_url}
        yield server


def syncs_counted(provider: str, outcome: str) -> float:
    """afo_crm_syncs_total now (afo_workflow_executor.metrics), 0 before its first increment."""
    labels = {"service": "workflow-executor", "provider": provider, "outcome": outcome}
    return REGISTRY.get_sample_value("afo_crm_syncs_total", labels) or 0.0


async def test_a_qualified_lead_lands_in_hubspot_once_with_its_note(sync: Sync, hubspot: FakeHubSpot) -> None:
    synced_before = syncs_counted("hubspot", "synced")
    await sync.deliver(LeadCreated(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                                   fields={"email": "lee@example.com"}))
    assert hubspot.requests == []  # a lead being collected is not synced yet
    await sync.deliver(qualified())
    [contact_id] = hubspot.contacts
    assert (hubspot.contacts[contact_id]["company"], hubspot.contacts[contact_id]["lastname"]) == ("Acme", "Van Lead")
    [note] = hubspot.notes.values()
    assert "budget: 10k" in note["properties"]["hs_note_body"]
    [(envelope, synced)] = sync.events(CrmSynced)
    assert (synced.provider, synced.record_id, synced.action, synced.lead_id) == ("hubspot", contact_id, "created",
                                                                                   "lead_1")
    assert synced.url == f"https://app.hubspot.com/contacts/4242/record/0-1/{contact_id}"
    assert envelope.tenantid == TENANT and TOKEN not in envelope.to_bytes().decode()
    [run] = sync.syncs()
    assert (run.status, run.trigger, run.record_id, run.deliveries) == ("synced", "lead.qualified", contact_id, 1)
    calls = sync.calls(run.id)
    assert (calls["contact"].done, calls["contact"].http_status) == (True, 201)
    assert (calls["note"].done, calls["note"].http_status, calls["note"].attempts) == (True, 201, 1)
    assert calls["contact"].attempts == 3  # portal id, search, create
    assert len({c.idempotency_key for c in calls.values()}) == 2
    assert syncs_counted("hubspot", "synced") == synced_before + 1


async def test_the_same_event_twice_or_replayed_makes_one_contact_and_one_note(
    sync: Sync, hubspot: FakeHubSpot
) -> None:
    first = await sync.deliver(qualified())
    with pytest.raises(DuplicateDelivery):
        await sync.deliver(sync.again(first, 2))
    sync.store.processed.clear()  # the inbox pruned, the stream replayed from the start
    await sync.deliver(sync.again(first, 1))
    assert len(hubspot.contacts) == 1 and len(hubspot.notes) == 1
    assert len(sync.events(CrmSynced)) == 1 and len(sync.syncs()) == 1


async def test_a_later_event_updates_the_contact_by_its_kept_id(sync: Sync, hubspot: FakeHubSpot) -> None:
    await sync.deliver(qualified())
    [contact_id] = hubspot.contacts
    searches = len(hubspot.calls("POST", f"{CONTACTS}/search"))
    await sync.deliver(analyzed())
    assert list(hubspot.contacts) == [contact_id] and len(hubspot.notes) == 2
    assert len(hubspot.calls("POST", f"{CONTACTS}/search")) == searches  # updated by id, not looked up again
    assert [r.status for r in hubspot.calls("PATCH", f"{CONTACTS}/{contact_id}")] == [200]
    body = list(hubspot.notes.values())[-1]["properties"]["hs_note_body"]
    assert "Summary: Wants a demo next week" in body and "next_step: Demo" in body
    assert [s.action for _, s in sync.events(CrmSynced)] == ["created", "updated"]


async def test_a_meeting_booked_and_cancelled_is_synced_and_another_meetings_cancel_is_not(
    sync: Sync, hubspot: FakeHubSpot
) -> None:
    await sync.deliver(qualified())
    start = datetime(2026, 6, 3, 14, 0, tzinfo=UTC)
    await sync.deliver(MeetingBooked(meeting_id="mtg_1", request_id="req_1", conversation_id="conv_1",
                                     agent_id="agt_1", lead_id="lead_1", calendar_id="cal_1", provider="builtin",
                                     start=start, end=start + timedelta(minutes=30), timezone="UTC"))
    assert "Meeting: 2026-06-03T14:00:00+00:00" in list(hubspot.notes.values())[-1]["properties"]["hs_note_body"]
    await sync.deliver(MeetingCancelled(meeting_id="mtg_other", conversation_id="conv_1", agent_id="agt_1",
                                        lead_id="lead_1", by="lead"))
    assert len(hubspot.notes) == 2  # not the lead's meeting: nothing to tell the CRM
    await sync.deliver(MeetingCancelled(meeting_id="mtg_1", conversation_id="conv_1", agent_id="agt_1",
                                        lead_id="lead_1", by="lead"))
    assert len(hubspot.notes) == 3 and "Meeting:" not in list(hubspot.notes.values())[-1]["properties"]["hs_note_body"]
    assert len(hubspot.contacts) == 1
    assert [s.trigger for s in sync.syncs()] == ["lead.qualified", "meeting.booked", "meeting.cancelled"]


async def test_pipedrive_gets_one_person_whatever_the_events(sync: Sync) -> None:
    async with FakePipedrive(secret="pd-token-0123") as pipedrive:
        sync.vault.fields[(TENANT, "pipedrive")] = {"api_token": "pd-token-0123", "company_domain": "acme",
                                                    "base_url": pipedrive.base_url}
        first = await sync.deliver(qualified())
        await sync.deliver(analyzed())
        sync.store.processed.clear()
        await sync.deliver(sync.again(first, 1))
    [person_id] = pipedrive.persons
    assert pipedrive.persons[person_id]["name"] == "Lee Van Lead" and len(pipedrive.leads) == 1
    assert len(pipedrive.notes) == 2
    assert [(s.provider, s.record_id, s.action) for _, s in sync.events(CrmSynced)] == [
        ("pipedrive", str(person_id), "created"), ("pipedrive", str(person_id), "updated")]


async def test_salesforce_gets_one_lead_with_a_task(sync: Sync) -> None:
    async with FakeSalesforce(secret="5Aep861-refresh-0123") as salesforce:
        sync.vault.fields[(TENANT, "salesforce")] = {
            "client_id": salesforce.client_id, "client_secret": salesforce.client_secret,
            "refresh_token": "5Aep861-refresh-0123", "instance_url": "https://acme.my.salesforce.com",
            "login_url": salesforce.base_url}
        await sync.deliver(qualified())
        await sync.deliver(analyzed())
    [lead_id] = salesforce.leads
    assert salesforce.leads[lead_id]["Email"] == "lee@example.com" and len(salesforce.tasks) == 2
    assert [(s.provider, s.record_id) for _, s in sync.events(CrmSynced)] == [("salesforce", lead_id)] * 2
    assert "5Aep861" not in b"".join(e.to_bytes() for e in sync.store.outbox).decode()


async def test_without_a_connected_crm_the_builtin_lead_store_is_the_record(sync: Sync) -> None:
    synced_before = syncs_counted("builtin", "synced")
    await sync.deliver(qualified(fields={"name": "No Email"}))  # the built-in store needs no email
    assert syncs_counted("builtin", "synced") == synced_before + 1
    [(_, synced)] = sync.events(CrmSynced)
    assert (synced.provider, synced.record_id, synced.url, synced.action) == ("builtin", "lead_1", "/v1/leads/lead_1",
                                                                              "created")
    [run] = sync.syncs()
    assert run.status == "synced" and sync.calls(run.id) == {}


async def test_a_lead_without_email_is_skipped_with_its_reason(sync: Sync, hubspot: FakeHubSpot) -> None:
    skipped_before = syncs_counted("hubspot", "skipped")
    await sync.deliver(qualified(fields={"name": "Lee", "budget": "10k"}))
    await sync.deliver(analyzed())
    assert syncs_counted("hubspot", "skipped") == skipped_before + 2
    assert hubspot.requests == [] and sync.store.outbox == []
    assert [(s.status, s.reason) for s in sync.syncs()] == [("skipped", NO_EMAIL)] * 2
    assert sync.store.tables.crm_leads[(TENANT, "lead_1")].summary == "Wants a demo next week"


async def test_another_tenants_event_touches_neither_the_lead_nor_the_crm(sync: Sync, hubspot: FakeHubSpot) -> None:
    await sync.deliver(qualified())
    before = dict(sync.store.tables.crm_leads)
    hubspot_requests = len(hubspot.requests)
    # The same lead id in another tenant's event: that tenant has no CRM connected, so its own built-in store.
    await sync.deliver(qualified(fields={"email": "intruder@example.com"}), tenant=OTHER)
    assert len(hubspot.requests) == hubspot_requests and len(hubspot.contacts) == 1
    assert sync.store.tables.crm_leads[(TENANT, "lead_1")] == before[(TENANT, "lead_1")]
    assert sync.store.tables.crm_leads[(OTHER, "lead_1")].fields == {"email": "intruder@example.com"}
    assert [(e.tenantid, s.provider) for e, s in sync.events(CrmSynced)] == [(TENANT, "hubspot"), (OTHER, "builtin")]


async def test_a_refused_credential_is_a_final_failure_with_its_reason(sync: Sync, hubspot: FakeHubSpot) -> None:
    sync.vault.fields[(TENANT, "hubspot")]["access_token"] = "pat-revoked-token"
    await sync.deliver(qualified())  # acknowledged: retrying cannot help
    [(envelope, failed)] = sync.events(CrmFailed)
    assert (failed.provider, failed.status, failed.attempts, failed.lead_id) == ("hubspot", 401, 1, "lead_1")
    assert "pat-revoked-token" not in envelope.to_bytes().decode()
    [run] = sync.syncs()
    assert (run.status, run.http_status) == ("failed", 401) and run.reason == failed.reason
    assert sync.calls(run.id)["contact"].error == failed.reason and sync.events(CrmSynced) == []


async def test_a_rate_limit_is_waited_out_within_the_delivery(sync: Sync, hubspot: FakeHubSpot) -> None:
    hubspot.fail_next(1, 429, retry_after="0", path=f"{CONTACTS}/search")
    await sync.deliver(qualified())
    assert [r.status for r in hubspot.calls("POST", f"{CONTACTS}/search")] == [429, 200]
    [run] = sync.syncs()
    assert run.status == "synced" and sync.calls(run.id)["contact"].attempts == 4  # portal, 429, search, create
    assert len(hubspot.contacts) == 1


async def test_a_provider_down_naks_then_fails_for_good_on_the_last_delivery(sync: Sync, hubspot: FakeHubSpot) -> None:
    hubspot.fail_next(100, 503, path="/crm/v3/objects/notes")
    retrying_before, failed_before = syncs_counted("hubspot", "retrying"), syncs_counted("hubspot", "failed")
    delivery = Delivery(envelope_for(qualified(), tenant_id=TENANT, source="agent-runtime"), qualified(), 1, "crm",
                        cast(Any, None))
    with pytest.raises(RetryLater):
        await sync.deliver(delivery)
    [run] = sync.syncs()
    assert (run.status, run.http_status, run.deliveries) == ("retrying", 503, 1) and sync.store.outbox == []
    assert (sync.calls(run.id)["contact"].done, sync.calls(run.id)["note"].attempts) == (True, FAST.attempts)
    with pytest.raises(RetryLater):
        await sync.deliver(sync.again(delivery, 2))
    await sync.deliver(sync.again(delivery, MAX_DELIVER))
    [(_, failed)] = sync.events(CrmFailed)
    assert (failed.status, failed.attempts) == (503, FAST.attempts * MAX_DELIVER)
    assert syncs_counted("hubspot", "retrying") == retrying_before + 2
    assert syncs_counted("hubspot", "failed") == failed_before + 1
    [run] = sync.syncs()
    assert (run.status, run.deliveries) == ("failed", MAX_DELIVER) and len(hubspot.contacts) == 1
    [contact_id] = hubspot.contacts
    assert run.record_id == contact_id  # the contact exists though its note never landed
    hubspot.failures.clear()
    await sync.deliver(analyzed())
    assert list(hubspot.contacts) == [contact_id] and len(hubspot.notes) == 1
    assert [(s.record_id, s.action) for _, s in sync.events(CrmSynced)] == [(contact_id, "updated")]


async def test_a_note_sent_on_an_earlier_delivery_is_not_sent_again(sync: Sync, hubspot: FakeHubSpot) -> None:
    hubspot.fail_next(FAST.attempts, 503, path="/crm/v3/objects/notes")
    delivery = Delivery(envelope_for(qualified(), tenant_id=TENANT, source="agent-runtime"), qualified(), 1, "crm",
                        cast(Any, None))
    with pytest.raises(RetryLater):
        await sync.deliver(delivery)
    await sync.deliver(sync.again(delivery, 2))  # the provider is back
    assert len(hubspot.contacts) == 1 and len(hubspot.notes) == 1
    [(_, synced)] = sync.events(CrmSynced)
    assert synced.action == "created"  # the contact was made by this sync, on its first delivery
    sync.store.processed.clear()
    await sync.deliver(sync.again(delivery, 1))
    assert len(hubspot.notes) == 1


async def test_out_of_order_lead_snapshots_keep_the_newest(sync: Sync) -> None:
    newer = LeadUpdated(lead_id="lead_1", conversation_id="conv_1", fields={"email": "new@example.com"},
                        changed=["email"])
    older = LeadCreated(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                        fields={"email": "old@example.com"})
    older_envelope = envelope_for(older, tenant_id=TENANT, source="agent-runtime")
    await sync.deliver(newer)
    await sync.deliver(Delivery(older_envelope.model_copy(update={"time": older_envelope.time - timedelta(seconds=5)}),
                                older, 1, "crm", cast(Any, None)))
    lead = sync.store.tables.crm_leads[(TENANT, "lead_1")]
    assert lead.fields == {"email": "new@example.com"} and lead.agent_id == "agt_1"


async def test_a_lead_event_that_changes_nothing_in_the_projection_writes_nothing(sync: Sync) -> None:
    created = await sync.deliver(LeadCreated(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                                             fields={"email": "lee@example.com"}))
    held = sync.store.tables.crm_leads[(TENANT, "lead_1")]
    assert ("crm", created.envelope.id) in sync.store.processed

    # lead.updated for an opt-out alone (no field in ``changed``), with the fields held: nothing written.
    sync.clock.advance(timedelta(minutes=1))
    same = await sync.deliver(LeadUpdated(lead_id="lead_1", conversation_id="conv_1",
                                          fields={"email": "lee@example.com"}, changed=[]))
    assert sync.store.tables.crm_leads[(TENANT, "lead_1")] == held
    assert ("crm", same.envelope.id) not in sync.store.processed
    # lead.created seen again (a redelivery): nothing written either, and not refused.
    await sync.deliver(sync.again(created, 2))
    assert sync.store.tables.crm_leads[(TENANT, "lead_1")] == held

    # A field changed: written with the snapshot's time, and its inbox row.
    changed = await sync.deliver(LeadUpdated(lead_id="lead_1", conversation_id="conv_1",
                                             fields={"email": "lee@example.com", "budget": "10k"},
                                             changed=["budget"]))
    lead = sync.store.tables.crm_leads[(TENANT, "lead_1")]
    assert lead.fields == {"email": "lee@example.com", "budget": "10k"} and lead.fields_at == changed.envelope.time
    assert ("crm", changed.envelope.id) in sync.store.processed
    with pytest.raises(DuplicateDelivery):  # one naming a changed field goes straight to its transaction
        await sync.deliver(sync.again(changed, 2))
    assert sync.store.tables.crm_leads[(TENANT, "lead_1")] == lead
    assert sync.store.outbox == []


async def test_a_lead_another_replica_is_syncing_waits_for_its_claim(sync: Sync, hubspot: FakeHubSpot) -> None:
    impatient = CrmSync(sync.store, sync.vault, CrmOpener(FAST), sync.clock, MAX_DELIVER, claim_wait_s=0.0)
    async with sync.store() as uow:  # another replica's claim, for two more minutes
        assert await uow.crm_syncs.claim(TENANT, "lead_1", "replica-b", sync.clock.now(),
                                         sync.clock.now() + timedelta(minutes=2))
    delivery = Delivery(envelope_for(qualified(), tenant_id=TENANT, source="agent-runtime"), qualified(), 1, "crm",
                        cast(Any, None))
    with pytest.raises(RetryLater):
        await impatient(delivery)
    assert hubspot.requests == [] and sync.store.outbox == []
    sync.clock.advance(timedelta(minutes=2))  # replica-b died: its claim lapses
    await impatient(sync.again(delivery, 2))
    assert len(hubspot.contacts) == 1 and len(sync.events(CrmSynced)) == 1
    assert sync.store.tables.crm_claims == {}  # released once done
