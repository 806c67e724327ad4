"""CRM sync on a real store (SQLite, then PostgreSQL) against the HubSpot stand-in: the delivery's transaction
with its inbox row, the ``retrying`` record written beside it when the provider is down, and one contact and one
note once it is back, however often the event is delivered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from afo_common.events import envelope_for
from afo_common.events.conversation import LeadCreated, LeadQualified, LeadUpdated
from afo_common.events.workflow import CrmSynced
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.provider_http import RetryPolicy
from afo_common.rpcs.workflow_executor_crm import ListCrmSyncs
from afo_testkit.clock import FixedClock
from afo_testkit.crm_servers import FakeHubSpot
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import committed_events, migrated_database
from afo_workflow_executor.adapters.crm_hot import HotCrmLeads, hot_projecting
from afo_workflow_executor.adapters.crm_providers import CrmOpener
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.handlers.crm_runs import CrmRuns
from afo_workflow_executor.handlers.crm_sync import CrmSync, RetryLater

TENANT = "ten_1"
TOKEN = "pat-na1-secret-token-0123"
FAST = RetryPolicy(attempts=2, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)


class Vault:
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    async def resolve(self, tenant_id: str, provider: str) -> dict[str, str] | None:
        return self.fields if (tenant_id, provider) == (TENANT, "hubspot") else None


class NoCrm:
    async def resolve(self, tenant_id: str, provider: str) -> dict[str, str] | None:
        return None


@pytest.fixture(params=["sqlite", "postgres"])
async def units(request: pytest.FixtureRequest, tmp_path: Path,
                postgres_server: PostgresDatabases | str) -> AsyncIterator[UnitOfWorkFactory]:
    db = await migrated_database(str(request.param), tmp_path, postgres_server, "afo_workflow_executor.migrations")
    try:
        yield UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None)
    finally:
        await db.dispose()


async def test_down_then_back_gives_one_contact_one_note_and_one_event(units: UnitOfWorkFactory) -> None:
    store = sql_store(units)
    event = LeadQualified(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                          fields={"email": "lee@example.com", "budget": "10k"})
    envelope = envelope_for(event, tenant_id=TENANT, source="agent-runtime")
    async with FakeHubSpot(secret=TOKEN) as hubspot:
        vault = Vault({"access_token": TOKEN, "base_url": hubspot.base_url})
        sync = CrmSync(store, vault, CrmOpener(FAST), FixedClock(datetime(2026, 6, 1, tzinfo=UTC)), 5)
        hubspot.fail_next(FAST.attempts, 502, path="/crm/v3/objects/notes")
        with pytest.raises(RetryLater):
            await sync(Delivery(envelope, event, 1, "crm", units))
        [retrying] = (await CrmRuns(store).list(ListCrmSyncs(tenant_id=TENANT, lead_id="lead_1"))).data
        assert (retrying.status, retrying.http_status) == ("retrying", 502)
        assert [(s.step, s.done, s.attempts) for s in retrying.steps] == [("contact", True, 3), ("note", False, 2)]
        assert await committed_events(units.db, messaging) == []

        await sync(Delivery(envelope, event, 2, "crm", units))
        with pytest.raises(DuplicateDelivery):
            await sync(Delivery(envelope, event, 3, "crm", units))
    assert len(hubspot.contacts) == 1 and len(hubspot.notes) == 1
    # The second delivery updated the contact by the id the first kept: no second search.
    assert len(hubspot.calls("POST", "/crm/v3/objects/contacts/search")) == 1
    [synced] = await committed_events(units.db, messaging)
    assert synced.type == CrmSynced.type_name() and synced.data["action"] == "created"
    [run] = (await CrmRuns(store).list(ListCrmSyncs(tenant_id=TENANT, lead_id="lead_1"))).data
    assert (run.status, run.deliveries, run.record_id) == ("synced", 2, synced.data["record_id"])
    # contact: portal id, search, create; then portal id, PATCH by id. note: 502 twice, then 201.
    assert [(s.step, s.done, s.attempts) for s in run.steps] == [("contact", True, 5), ("note", True, 3)]
    assert (await CrmRuns(store).list(ListCrmSyncs(tenant_id="ten_2", lead_id="lead_1"))).data == []


async def test_lead_events_projected_on_the_driver_are_read_back_through_sqlalchemy(units: UnitOfWorkFactory) -> None:
    store = sql_store(units)
    clock = FixedClock(datetime(2026, 6, 1, tzinfo=UTC))
    sync = CrmSync(store, NoCrm(), CrmOpener(FAST), clock, 5, projecting=hot_projecting)
    created = LeadCreated(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                          fields={"email": "lee@example.com"})
    updated = LeadUpdated(lead_id="lead_1", conversation_id="conv_1", changed=["budget"],
                          fields={"email": "lee@example.com", "budget": "10k"})
    deliveries = [Delivery(envelope_for(e, tenant_id=TENANT, source="agent-runtime"), e, 1, "crm", units)
                  for e in (created, updated)]
    for delivery in deliveries:
        await sync(delivery)
    with pytest.raises(DuplicateDelivery):  # the inbox row was written in the driver's transaction
        await sync(deliveries[1])

    async with store.reading() as repos:
        lead = await repos.crm_leads.get(TENANT, "lead_1")
    assert lead is not None
    assert (lead.fields, lead.agent_id, lead.conversation_id, lead.qualified) == (
        {"email": "lee@example.com", "budget": "10k"}, "agt_1", "conv_1", False)
    assert lead.fields_at == deliveries[1].envelope.time and lead.created_at == clock.now()
    async with units.db.hot.read() as tx:  # and what SQLAlchemy writes, the driver reads
        async with store() as uow:
            await uow.crm_leads.save(replace(lead, qualified=True, meeting_start=clock.now()))
        again = await HotCrmLeads(tx).get(TENANT, "lead_1")
    assert again == replace(lead, qualified=True, meeting_start=clock.now())

    # The built-in CRM's sync, on SQLAlchemy, reads the lead the driver wrote.
    qualified = LeadQualified(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                              fields={"email": "lee@example.com", "budget": "10k"})
    await sync(Delivery(envelope_for(qualified, tenant_id=TENANT, source="agent-runtime"), qualified, 1, "crm",
                        units))
    [synced] = await committed_events(units.db, messaging)
    assert synced.data["provider"] == "builtin" and synced.data["record_id"] == "lead_1"
