"""The lead projection, CRM syncs, their provider calls and leads' CRM records on memory, SQLite and PostgreSQL:
saved and read back as they were, replaced in place, one sync per event, tenants apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.crm_records import CrmLinkRow, CrmSyncRow, ProviderCallRow, idempotency_key
from afo_workflow_executor.handlers.unit_of_work import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEAD = LeadRecord("lead_1", "t1", "conv_1", "agt_1", T0, T0, fields={"email": "lee@example.com", "budget": "10k"},
                  fields_at=T0, qualified=True, summary="Wants a demo", outcome="qualified", analyzed_at=T0,
                  meeting_id="mtg_1", meeting_start=T0 + timedelta(days=2), meeting_at=T0)


def sync(sync_id: str, event_id: str, tenant: str = "t1", lead: str = "lead_1") -> CrmSyncRow:
    return CrmSyncRow(sync_id, tenant, lead, event_id, "lead.qualified", "hubspot", "retrying", 1, T0, T0)


async def test_a_lead_is_kept_per_tenant_and_replaced_in_place(store: Store) -> None:
    async with store() as uow:
        await uow.crm_leads.save(LEAD)
        await uow.crm_leads.save(replace(LEAD, tenant_id="t2", fields={"email": "other@example.com"}))
    async with store.reading() as repos:
        assert await repos.crm_leads.get("t1", "lead_1") == LEAD
        other = await repos.crm_leads.get("t2", "lead_1")
        assert other is not None and other.fields == {"email": "other@example.com"}
        assert await repos.crm_leads.get("t3", "lead_1") is None
    cleared = replace(LEAD, meeting_id=None, meeting_start=None, updated_at=T0 + timedelta(hours=1))
    async with store() as uow:
        await uow.crm_leads.save(cleared)
    async with store.reading() as repos:
        assert await repos.crm_leads.get("t1", "lead_1") == cleared


async def test_one_sync_per_event_listed_newest_first_for_its_tenant(store: Store) -> None:
    async with store() as uow:
        await uow.crm_syncs.save(sync("crs_1", "evt_1"))
        await uow.crm_syncs.save(sync("crs_2", "evt_2"))
        await uow.crm_syncs.save(sync("crs_3", "evt_1", tenant="t2"))  # same event id, another tenant
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError on SQL, ValueError in memory
        async with store() as uow:
            await uow.crm_syncs.save(sync("crs_4", "evt_1"))
    done = replace(sync("crs_1", "evt_1"), status="synced", deliveries=2, action="created", record_id="101",
                   url="https://app.hubspot.com/contacts/4242/record/0-1/101", updated_at=T0 + timedelta(seconds=5))
    async with store() as uow:
        await uow.crm_syncs.save(done)
    async with store.reading() as repos:
        assert await repos.crm_syncs.for_event("t1", "evt_1") == done
        assert await repos.crm_syncs.for_event("t3", "evt_1") is None
        assert [s.id for s in await repos.crm_syncs.page("t1", "lead_1", 10, None)] == ["crs_2", "crs_1"]
        assert [s.id for s in await repos.crm_syncs.page("t1", "lead_1", 10, "crs_2")] == ["crs_1"]
        assert [s.id for s in await repos.crm_syncs.page("t1", "lead_1", 1, None)] == ["crs_2"]
        assert [s.id for s in await repos.crm_syncs.page("t2", "lead_1", 10, None)] == ["crs_3"]
        assert await repos.crm_syncs.page("t1", "lead_2", 10, None) == []


async def test_a_provider_call_adds_up_under_its_idempotency_key(store: Store) -> None:
    key = idempotency_key("t1", "evt_1", "hubspot", "contact")
    assert key == idempotency_key("t1", "evt_1", "hubspot", "contact") != idempotency_key("t2", "evt_1", "hubspot",
                                                                                            "contact")
    first = ProviderCallRow(key, "t1", "crs_1", "contact", 3, False, T0, T0, 503, "hubspot: HTTP 503")
    note = ProviderCallRow(idempotency_key("t1", "evt_1", "hubspot", "note"), "t1", "crs_1", "note", 1, True,
                           T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), 201)
    async with store() as uow:
        await uow.crm_syncs.save_call(first)
        await uow.crm_syncs.save_call(note)
    later = replace(first, attempts=4, done=True, http_status=200, error=None, updated_at=T0 + timedelta(seconds=9))
    async with store() as uow:
        await uow.crm_syncs.save_call(later)
    async with store.reading() as repos:
        assert await repos.crm_syncs.call("t1", key) == later
        assert await repos.crm_syncs.call("t2", key) is None
        assert await repos.crm_syncs.calls("t1", ["crs_1"]) == [later, note]
        assert await repos.crm_syncs.calls("t2", ["crs_1"]) == []
        assert await repos.crm_syncs.calls("t1", []) == []


async def test_a_link_keeps_when_it_was_made(store: Store) -> None:
    link = CrmLinkRow("t1", "lead_1", "hubspot", "101", "https://app.hubspot.com/x/101", T0, T0)
    async with store() as uow:
        await uow.crm_syncs.save_link(link)
        await uow.crm_syncs.save_link(replace(link, record_id="202", created_at=T0 + timedelta(days=1),
                                              updated_at=T0 + timedelta(days=1)))
    async with store.reading() as repos:
        kept = await repos.crm_syncs.link("t1", "lead_1", "hubspot")
        assert kept == replace(link, record_id="202", updated_at=T0 + timedelta(days=1))
        assert await repos.crm_syncs.link("t2", "lead_1", "hubspot") is None
        assert await repos.crm_syncs.link("t1", "lead_1", "pipedrive") is None


async def test_a_claim_on_a_lead_is_held_by_one_owner_until_it_lapses(store: Store) -> None:
    lease = timedelta(minutes=2)

    async def claim(owner: str, now: datetime, tenant: str = "t1") -> bool:
        async with store() as uow:
            return await uow.crm_syncs.claim(tenant, "lead_1", owner, now, now + lease)

    assert await claim("a", T0)
    assert not await claim("b", T0 + timedelta(minutes=1))  # a holds it
    assert await claim("a", T0 + timedelta(minutes=1))  # a renews its own: until T0 + 3 min
    assert await claim("b", T0, tenant="t2")  # another tenant's lead of the same id
    assert not await claim("b", T0 + timedelta(minutes=2))
    assert await claim("b", T0 + timedelta(minutes=3))  # a's claim lapsed (a crashed holder's does too)
    async with store() as uow:
        await uow.crm_syncs.release("t1", "lead_1", "a")  # not a's any more: left alone
    assert not await claim("c", T0 + timedelta(minutes=3))
    async with store() as uow:
        await uow.crm_syncs.release("t1", "lead_1", "b")
    assert await claim("c", T0 + timedelta(minutes=3))
