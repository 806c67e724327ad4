"""SalesforceCrm against a local stand-in speaking Salesforce's OAuth token endpoint and REST API: the
refresh-token grant, Lead upsert by an external id field, the Task, a session that expires, retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from afo_common.provider_http import ProviderError, RetryPolicy
from afo_testkit.crm_servers import FakeSalesforce
from afo_workflow_executor.adapters.providers.salesforce import API, SalesforceCrm
from afo_workflow_executor.domain.crm import CrmLead

REFRESH = "5Aep861-refresh-token-0123"
FAST = RetryPolicy(attempts=3, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
LEAD = CrmLead(email="Lee@Example.com", name="Lee Van Lead", phone="+49 30 1234", company="Acme",
               source_conversation_id="conv_1", qualification={"budget": "10k", "timeline": "Q3"},
               summary="Wants a demo", meeting_start=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
LEAD_PATH = f"{API}/sobjects/Lead/AFO_Email__c/lee@example.com"
TOKEN = "/services/oauth2/token"


@pytest.fixture
async def salesforce() -> AsyncIterator[FakeSalesforce]:
    async with FakeSalesforce(secret=REFRESH) as server:
        yield server


def client(server: FakeSalesforce, refresh_token: str = REFRESH) -> SalesforceCrm:
    return SalesforceCrm(server.client_id, server.client_secret, refresh_token, login_url=server.base_url,
                         policy=FAST)


@pytest.fixture
async def crm(salesforce: FakeSalesforce) -> AsyncIterator[SalesforceCrm]:
    crm = client(salesforce)
    yield crm
    await crm.aclose()


async def test_upsert_creates_then_updates_the_same_lead(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    first = await crm.upsert_lead(LEAD)
    second = await crm.upsert_lead(replace(LEAD, phone="+49 30 9999", email="lee@example.com"))
    assert first.record_id == second.record_id and list(salesforce.leads) == [first.record_id]
    assert first.record_id.startswith("00Q")
    assert first.url == f"{salesforce.base_url}/lightning/r/Lead/{first.record_id}/view"
    lead = salesforce.leads[first.record_id]
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Lee", "Van Lead", "Acme")
    assert (lead["Phone"], lead["AFO_Email__c"]) == ("+49 30 9999", "lee@example.com")
    assert [r.status for r in salesforce.calls("PATCH", LEAD_PATH)] == [201, 200]
    assert salesforce.tokens_issued == 1  # one session for both


async def test_the_task_carries_the_note_on_the_lead(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    record = await crm.upsert_lead(LEAD)
    [task] = salesforce.tasks.values()
    assert (task["WhoId"], task["Status"]) == (record.record_id, "Completed")
    assert "Summary: Wants a demo" in task["Description"] and "budget: 10k" in task["Description"]
    assert "2026-06-01T09:00:00+00:00" in task["Description"]


async def test_an_update_answered_204_is_followed_by_a_query_for_the_id(salesforce: FakeSalesforce) -> None:
    # Before API 46.0 Salesforce answers an upsert that updated with 204 and no body.
    salesforce.leads["00Q000000000000042"] = {"Id": "00Q000000000000042", "AFO_Email__c": "lee@example.com",
                                              "LastName": "Lead", "Company": "Acme"}
    crm = SalesforceCrm(salesforce.client_id, salesforce.client_secret, REFRESH, login_url=salesforce.base_url,
                        api_version="v45.0", policy=FAST)
    crm_api = "/services/data/v45.0"
    record = await crm.upsert_contact(LEAD)
    await crm.aclose()
    assert record.record_id == "00Q000000000000042"
    assert [r.status for r in salesforce.calls("PATCH", f"{crm_api}/sobjects/Lead/AFO_Email__c/lee@example.com")] \
        == [204]
    assert [r.status for r in salesforce.calls("GET", f"{crm_api}/sobjects/Lead/AFO_Email__c/lee@example.com")] \
        == [200]


async def test_a_lead_without_last_name_or_company_is_created_with_placeholders(
    salesforce: FakeSalesforce, crm: SalesforceCrm
) -> None:
    record = await crm.upsert_contact(replace(LEAD, name=None, company=None))
    lead = salesforce.leads[record.record_id]
    assert (lead["LastName"], lead["Company"]) == ("Lee", "[not provided]")
    assert [r.status for r in salesforce.calls("PATCH", LEAD_PATH)] == [400, 201]
    # An update leaves what Salesforce holds: no placeholder overwrites a real company.
    salesforce.leads[record.record_id]["Company"] = "Acme Real"
    await crm.upsert_contact(replace(LEAD, name=None, company=None))
    assert salesforce.leads[record.record_id]["Company"] == "Acme Real"


async def test_an_expired_session_is_refreshed_once(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    await crm.upsert_contact(LEAD)
    salesforce.expire_sessions()
    await crm.upsert_lead(LEAD)
    assert salesforce.tokens_issued == 2
    assert [r.status for r in salesforce.calls("PATCH", LEAD_PATH)] == [201, 401, 200]
    assert len(salesforce.leads) == 1 and len(salesforce.tasks) == 1


async def test_a_refused_refresh_token_is_final_and_stays_out_of_the_message(salesforce: FakeSalesforce) -> None:
    crm = client(salesforce, refresh_token="5Aep861-revoked-token")
    with pytest.raises(ProviderError) as caught:
        await crm.upsert_lead(LEAD)
    await crm.aclose()
    assert (caught.value.provider, caught.value.status, caught.value.retryable) == ("salesforce", 400, False)
    assert "invalid_grant" in caught.value.reason and "5Aep861-revoked-token" not in str(caught.value)
    assert salesforce.leads == {} and len(salesforce.requests) == 1


async def test_429_waits_as_retry_after_says(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    salesforce.fail_next(1, 429, retry_after="1", path=LEAD_PATH)
    await crm.upsert_lead(LEAD)
    upserts = salesforce.calls("PATCH", LEAD_PATH)
    assert [r.status for r in upserts] == [429, 201]
    assert upserts[1].at - upserts[0].at >= 0.95  # backoff alone would have waited ~0.01s


async def test_a_create_that_landed_but_failed_to_answer_is_not_made_twice(
    salesforce: FakeSalesforce, crm: SalesforceCrm
) -> None:
    salesforce.fail_next(1, 500, path=LEAD_PATH, after_processing=True)
    record = await crm.upsert_lead(LEAD)
    assert list(salesforce.leads) == [record.record_id]
    assert [r.status for r in salesforce.calls("PATCH", LEAD_PATH)] == [500, 200]


async def test_500_past_the_attempts_is_a_retryable_error(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    salesforce.fail_next(5, 503, path=f"{API}/sobjects/Task")
    with pytest.raises(ProviderError) as caught:
        await crm.upsert_lead(LEAD)
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert len(salesforce.calls("POST", f"{API}/sobjects/Task")) == FAST.attempts
    assert salesforce.tasks == {}
