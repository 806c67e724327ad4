"""HubSpotCrm against a local stand-in speaking HubSpot's CRM v3 JSON: upsert by email, the note, retries."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from afo_common.provider_http import ProviderError, RetryPolicy
from afo_testkit.crm_servers import FakeHubSpot
from afo_workflow_executor.adapters.providers.hubspot import HubSpotCrm
from afo_workflow_executor.domain.crm import CrmLead

TOKEN = "pat-na1-secret-token-0123"
FAST = RetryPolicy(attempts=3, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
LEAD = CrmLead(email="lee@example.com", name="Lee Van Lead", phone="+49 30 1234", company="Acme",
               source_conversation_id="conv_1", qualification={"budget": "10k", "timeline": "Q3"},
               summary="Wants a demo <soon>", meeting_start=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
CONTACTS = "/crm/v3/objects/contacts"


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    async with FakeHubSpot(secret=TOKEN) as server:
        yield server


@pytest.fixture
async def crm(hubspot: FakeHubSpot) -> AsyncIterator[HubSpotCrm]:
    client = HubSpotCrm(TOKEN, base_url=hubspot.base_url, policy=FAST)
    yield client
    await client.aclose()


async def test_upsert_creates_then_updates_the_same_contact(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    first = await crm.upsert_lead(LEAD)
    second = await crm.upsert_lead(replace(LEAD, phone="+49 30 9999"))
    assert first.record_id == second.record_id and list(hubspot.contacts) == [first.record_id]
    assert first.url == f"https://app.hubspot.com/contacts/4242/record/0-1/{first.record_id}"
    contact = hubspot.contacts[first.record_id]
    assert (contact["firstname"], contact["lastname"], contact["company"]) == ("Lee", "Van Lead", "Acme")
    assert contact["phone"] == "+49 30 9999"
    assert len(hubspot.calls("POST", CONTACTS)) == 1
    assert len(hubspot.calls("PATCH", f"{CONTACTS}/{first.record_id}")) == 1
    assert len(hubspot.calls("GET", "/account-info/v3/details")) == 1  # the portal id is cached


async def test_the_note_lands_on_the_contact(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    record = await crm.upsert_lead(LEAD)
    [note] = hubspot.notes.values()
    assert note["associations"] == [{"to": {"id": record.record_id}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}]
    body = note["properties"]["hs_note_body"]
    assert "Wants a demo &lt;soon&gt;" in body and "2026-06-01T09:00:00+00:00" in body and "budget: 10k" in body
    assert note["properties"]["hs_timestamp"].endswith("Z")


async def test_a_create_that_landed_but_failed_to_answer_is_not_made_twice(
    hubspot: FakeHubSpot, crm: HubSpotCrm
) -> None:
    hubspot.fail_next(1, 500, path=CONTACTS, after_processing=True)
    record = await crm.upsert_lead(LEAD)
    assert list(hubspot.contacts) == [record.record_id]
    assert [r.status for r in hubspot.calls("POST", CONTACTS)] == [500]  # the retry searched and found it


async def test_a_conflict_on_create_updates_the_existing_contact(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    # HubSpot's search index lags its writes: the search finds none, the create answers 409 with the id.
    hubspot.contacts["77"] = {"email": LEAD.email}
    hubspot.search_behind = True
    created = await crm.upsert_lead(LEAD)
    assert created.record_id == "77" and list(hubspot.contacts) == ["77"]
    assert [r.status for r in hubspot.calls("POST", CONTACTS)] == [409]
    assert hubspot.contacts["77"]["company"] == "Acme"


async def test_429_waits_as_retry_after_says(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    hubspot.fail_next(1, 429, retry_after="1", path=f"{CONTACTS}/search")
    await crm.upsert_lead(LEAD)
    searches = hubspot.calls("POST", f"{CONTACTS}/search")
    assert [r.status for r in searches] == [429, 200]
    assert searches[1].at - searches[0].at >= 0.95  # backoff alone would have waited ~0.01s


async def test_500_twice_then_success(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    hubspot.fail_next(2, 500, path="/crm/v3/objects/notes")
    await crm.upsert_lead(LEAD)
    assert [r.status for r in hubspot.calls("POST", "/crm/v3/objects/notes")] == [500, 500, 201]
    assert len(hubspot.notes) == 1


async def test_500_past_the_attempts_is_a_retryable_error(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    hubspot.fail_next(5, 503)
    with pytest.raises(ProviderError) as caught:
        await crm.upsert_lead(LEAD)
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert len(hubspot.requests) == FAST.attempts


async def test_401_is_final_and_the_token_stays_out_of_the_message(hubspot: FakeHubSpot) -> None:
    client = HubSpotCrm("pat-wrong-token", base_url=hubspot.base_url, policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.upsert_lead(LEAD)
    await client.aclose()
    assert (caught.value.provider, caught.value.status, caught.value.retryable) == ("hubspot", 401, False)
    assert len(hubspot.requests) == 1 and "pat-wrong-token" not in str(caught.value)


async def test_connection_refused_is_retryable_after_the_attempts() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    client = HubSpotCrm(TOKEN, base_url=f"http://127.0.0.1:{port}", policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.upsert_lead(LEAD)
    await client.aclose()
    assert (caught.value.status, caught.value.retryable) == (None, True)
    assert TOKEN not in str(caught.value)
