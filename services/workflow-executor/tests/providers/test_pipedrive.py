"""PipedriveCrm against a local stand-in speaking Pipedrive's v1 JSON: person by email, one open lead, notes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from afo_common.provider_http import ProviderError, RetryPolicy
from afo_testkit.crm_servers import FakePipedrive
from afo_workflow_executor.adapters.providers.pipedrive import PipedriveCrm
from afo_workflow_executor.domain.crm import CrmLead

TOKEN = "0123456789abcdef-pipedrive-token"
FAST = RetryPolicy(attempts=3, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
LEAD = CrmLead(email="lee@example.com", name="Lee Lead", phone="+49 30 1234", company="Acme",
               source_conversation_id="conv_1", qualification={"budget": "10k"}, summary="Wants a demo",
               meeting_start=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
async def pipedrive() -> AsyncIterator[FakePipedrive]:
    async with FakePipedrive(secret=TOKEN) as server:
        yield server


@pytest.fixture
async def crm(pipedrive: FakePipedrive) -> AsyncIterator[PipedriveCrm]:
    client = PipedriveCrm(TOKEN, "acme", base_url=pipedrive.base_url, policy=FAST)
    yield client
    await client.aclose()


async def test_upsert_creates_then_updates_the_same_person_and_lead(
    pipedrive: FakePipedrive, crm: PipedriveCrm
) -> None:
    first = await crm.upsert_lead(LEAD)
    second = await crm.upsert_lead(replace(LEAD, phone="+49 30 9999"))
    assert first == second and first.url == f"https://acme.pipedrive.com/person/{first.record_id}"
    [person] = pipedrive.persons.values()
    assert person["name"] == "Lee Lead"
    assert person["email"][0] == {"value": LEAD.email, "primary": True, "label": "work"}
    assert person["phone"][0]["value"] == "+49 30 9999"
    [lead] = pipedrive.leads.values()
    assert lead["person_id"] == int(first.record_id) and lead["title"] == "Acme (AFO)"
    notes = list(pipedrive.notes.values())
    assert len(notes) == 2 and {n["lead_id"] for n in notes} == {lead["id"]}
    assert "Summary: Wants a demo" in notes[0]["content"] and "budget: 10k" in notes[0]["content"]


async def test_retried_creates_make_no_second_person_or_lead(pipedrive: FakePipedrive, crm: PipedriveCrm) -> None:
    pipedrive.fail_next(1, 502, path="/v1/persons", after_processing=True)
    pipedrive.fail_next(1, 500, path="/v1/leads", after_processing=True)
    await crm.upsert_lead(LEAD)
    assert len(pipedrive.persons) == 1 and len(pipedrive.leads) == 1 and len(pipedrive.notes) == 1


async def test_429_waits_as_retry_after_says(pipedrive: FakePipedrive, crm: PipedriveCrm) -> None:
    pipedrive.fail_next(1, 429, retry_after="1", path="/v1/notes")
    await crm.upsert_lead(LEAD)
    notes = pipedrive.calls("POST", "/v1/notes")
    assert [r.status for r in notes] == [429, 201] and notes[1].at - notes[0].at >= 0.95


async def test_500_twice_then_success(pipedrive: FakePipedrive, crm: PipedriveCrm) -> None:
    pipedrive.fail_next(2, 500, path="/v1/persons/search")
    record = await crm.upsert_lead(LEAD)
    assert [r.status for r in pipedrive.calls("GET", "/v1/persons/search")] == [500, 500, 200]
    assert list(pipedrive.persons) == [int(record.record_id)]


async def test_401_is_final_and_the_token_stays_out_of_the_message(pipedrive: FakePipedrive) -> None:
    client = PipedriveCrm("wrong-token-value", "acme", base_url=pipedrive.base_url, policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.upsert_lead(LEAD)
    await client.aclose()
    assert (caught.value.provider, caught.value.status, caught.value.retryable) == ("pipedrive", 401, False)
    assert len(pipedrive.requests) == 1 and "wrong-token-value" not in str(caught.value)


async def test_connection_refused_is_retryable_after_the_attempts() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = PipedriveCrm(TOKEN, "acme", base_url=f"http://127.0.0.1:{port}", policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.upsert_lead(LEAD)
    await client.aclose()
    assert (caught.value.status, caught.value.retryable) == (None, True) and TOKEN not in str(caught.value)
