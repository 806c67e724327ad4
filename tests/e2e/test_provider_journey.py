"""The whole journey on the tenant's own providers: chat → qualified → "next Wednesday at 10am" → booked in
the tenant's Google Calendar → conversation closed and analysed → the lead with its summary and meeting in
HubSpot. Real processes and nats-server; Google (OAuth token endpoint and Calendar v3) and HubSpot (CRM v3) are
the local stand-ins of afo_testkit, which the platform reaches through its configurable endpoints.

The tenant connects Google as in a browser: ``GET /v1/integrations/google/connect`` gives the consent URL,
the stand-in's ``authorize`` plays the user agreeing, and the callback stores the tokens in the vault. A busy
block in Google at the asked time makes the agent offer three other times instead of booking over it."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import nats
import pytest

from afo_testkit.calendar_servers import FakeGoogle
from afo_testkit.crm_servers import FakeHubSpot
from afo_testkit.platform import Platform
from tests.e2e.conftest import GOOGLE_REFRESH_TOKEN
from tests.e2e.journey import FIVE_TURNS, LEAD_EMAIL, Tenant, conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ZONE = ZoneInfo("America/New_York")
REFRESH = GOOGLE_REFRESH_TOKEN
HUBSPOT_TOKEN = "pat-na1-e2e-provider-journey-5151"
EMAIL = LEAD_EMAIL
ASK = "Can we meet next Wednesday at 10am?"
WAIT_S = 20.0


@pytest.fixture
def google(google_server: FakeGoogle) -> FakeGoogle:
    """The shared platform's Google stand-in with an empty primary calendar: each test's tenant connects the same
    account."""
    google_server.events.clear()
    google_server.busy.clear()
    google_server.busy["primary"] = []
    google_server.token_grants.clear()
    return google_server


def next_wednesday_at_ten() -> datetime:
    """What "next Wednesday at 10am" means to the agent: the Wednesday of next calendar week, in New York."""
    today: date = datetime.now(ZONE).date()
    wednesday = today + timedelta(days=7 - today.weekday() + 2)
    return datetime.combine(wednesday, time(10), ZONE).astimezone(UTC)


def note_lines(note: dict[str, Any]) -> list[str]:
    """A HubSpot note's body (HTML, one ``<br>`` between lines) as its plain-text lines."""
    return [html.unescape(line) for line in note["properties"]["hs_note_body"].split("<br>")]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


async def eventually(what: str, probe: Callable[[], Any]) -> Any:
    """Await ``probe()`` until it answers something truthy; that answer (AssertionError after WAIT_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not (found := await probe()):
        assert loop.time() < deadline, f"{what} did not happen within {WAIT_S:.0f} s"
        await asyncio.sleep(0.1)
    return found


async def last_event(platform: Platform, tenant: Tenant, name: str) -> dict[str, Any]:
    """The data of the tenant's last ``name`` event on the WORKFLOW stream."""
    nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        message = await nc.jetstream().get_last_msg("WORKFLOW", f"afo.{tenant.id}.{name}")
    finally:
        await nc.drain()
    data: dict[str, Any] = json.loads(message.data or b"{}")["data"]
    return data


async def connect_google(api: httpx.AsyncClient, tenant: Tenant, google: FakeGoogle) -> None:
    started = await api.get("/v1/integrations/google/connect", headers=tenant.auth)
    assert started.status_code == 200, started.text
    url = urlsplit(started.json()["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{google.base_url}/o/oauth2/v2/auth"
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert query["client_id"] == google.client_id
    assert query["scope"] == "https://www.googleapis.com/auth/calendar"
    assert (query["access_type"], query["response_type"]) == ("offline", "code")
    assert query["redirect_uri"] == f"{str(api.base_url).rstrip('/')}/v1/integrations/google/callback"
    assert len(query["state"]) >= 32

    code = google.authorize(query["redirect_uri"])  # the user agrees on Google's page
    done = await api.get("/v1/integrations/google/callback", params={"code": code, "state": query["state"]})
    assert done.status_code == 200, done.text
    assert "authorization_code" in google.token_grants

    shown = await api.get("/v1/integrations/google", headers=tenant.auth)
    assert shown.status_code == 200, shown.text
    fields = shown.json()["fields"]
    assert fields["client_id"] == google.client_id
    assert fields["refresh_token"] == "••••" + REFRESH[-4:]
    assert fields["access_token"].startswith("••••")
    assert REFRESH not in shown.text and google.client_secret not in shown.text


async def qualified_chat(api: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str, dict[str, Any]]:
    agent_id = await published_agent(api, tenant, timezone="America/New_York")
    conversation_id = await conversation(api, tenant, agent_id)
    replies = [await say(api, tenant, conversation_id, text) for text in FIVE_TURNS]
    lead: dict[str, Any] = replies[-1]["lead"]
    assert lead["qualified"] is True and lead["fields"]["email"] == EMAIL
    return agent_id, conversation_id, lead


async def test_a_qualified_lead_books_in_google_and_lands_in_hubspot_with_its_summary(
    platform: Platform, api: httpx.AsyncClient, google: FakeGoogle
) -> None:
    tenant = await sign_up(api)
    await connect_google(api, tenant, google)
    google.expire_access_tokens()  # the access token stored at connect is no longer good: refreshed on a 401
    async with FakeHubSpot(secret=HUBSPOT_TOKEN) as hubspot:
        put = await api.put("/v1/integrations/hubspot", headers=tenant.auth,
                            json={"access_token": HUBSPOT_TOKEN, "base_url": hubspot.base_url})
        assert put.status_code == 200, put.text
        agent_id, conversation_id, lead = await qualified_chat(api, tenant)

        asked = await say(api, tenant, conversation_id, ASK)
        assert asked["reply"]["intent"] == "scheduling"

        async def booked() -> list[dict[str, Any]]:
            listed = await api.get("/v1/meetings", headers=tenant.auth, params={"agent_id": agent_id})
            return [m for m in listed.json()["data"] if m["status"] == "booked"]

        [listed] = await eventually("the booking", booked)
        meeting = (await api.get(f"/v1/meetings/{listed['id']}", headers=tenant.auth)).json()
        start = next_wednesday_at_ten()
        assert instant(meeting["start"]) == start
        assert (meeting["provider"], meeting["conversation_id"]) == ("google", conversation_id)
        [event] = google.events["primary"].values()
        assert meeting["external_id"] == event["id"] and meeting["url"] == event["htmlLink"]
        assert (instant(event["start"]["dateTime"]), instant(event["end"]["dateTime"])) == (
            start, instant(meeting["end"]))
        assert [a["email"] for a in event.get("attendees", [])] == [EMAIL]
        assert google.send_updates[event["id"]] == "all"
        assert google.token_grants[0] == "authorization_code" and "refresh_token" in google.token_grants[1:]

        closed = await api.post(f"/v1/conversations/{conversation_id}/close", headers=tenant.auth)
        assert closed.status_code == 200, closed.text

        async def analysed() -> dict[str, Any] | None:
            body = (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()
            analysis: dict[str, Any] | None = body["analysis"]
            return analysis

        analysis = await eventually("the analysis", analysed)
        assert analysis["outcome"] == "booked"

        async def note_with_summary() -> list[list[str]]:
            return [lines for lines in map(note_lines, hubspot.notes.values())
                    if f"Summary: {analysis['summary']}" in lines and any(x.startswith("Meeting: ") for x in lines)]

        lines = (await eventually("a HubSpot note with the summary and the meeting", note_with_summary))[-1]

        async def all_synced() -> list[dict[str, Any]] | None:
            runs = await api.get(f"/v1/leads/{lead['id']}/crm-syncs", headers=tenant.auth)
            assert runs.status_code == 200, runs.text
            data: list[dict[str, Any]] = runs.json()["data"]
            triggers = {run["trigger"] for run in data if run["status"] == "synced"}
            return data if {"lead.qualified", "meeting.booked", "conversation.analyzed"} <= triggers else None

        runs = await eventually("the CRM syncs", all_synced)

    [(contact_id, contact)] = hubspot.contacts.items()  # one contact, however many syncs
    assert contact["email"] == EMAIL
    assert len(hubspot.calls("POST", "/crm/v3/objects/contacts")) == 1
    note = next(n for n in hubspot.notes.values() if note_lines(n) == lines)
    assert [str(a["to"]["id"]) for a in note["associations"]] == [contact_id]
    [meeting_line] = [line for line in lines if line.startswith("Meeting: ")]
    assert instant(meeting_line.removeprefix("Meeting: ")) == start
    assert {(run["provider"], run["status"], run["record_id"]) for run in runs} == {("hubspot", "synced", contact_id)}
    assert HUBSPOT_TOKEN not in str(runs) and REFRESH not in str(runs)


async def test_google_busy_time_is_respected_with_three_other_times(
    platform: Platform, api: httpx.AsyncClient, google: FakeGoogle
) -> None:
    tenant = await sign_up(api)
    await connect_google(api, tenant, google)
    start = next_wednesday_at_ten()
    block = (start - timedelta(minutes=30), start + timedelta(hours=1))
    google.busy["primary"] = [block]  # the tenant's own meeting, made in Google, not through AFO
    agent_id, conversation_id, _ = await qualified_chat(api, tenant)

    await say(api, tenant, conversation_id, ASK)

    async def offered() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()
        last: dict[str, Any] = body["messages"][-1]
        return last if last["intent"] == "meeting_failed" else None

    message = await eventually("the offer of other times", offered)
    failed = await last_event(platform, tenant, "meeting.failed")
    assert (failed["reason"], failed["conversation_id"]) == ("slot_taken", conversation_id)
    alternatives = [(instant(a["start"]), instant(a["end"])) for a in failed["alternatives"]]
    assert len(alternatives) == 3
    assert all(end <= block[0] or block[1] <= begin for begin, end in alternatives), alternatives
    assert message["text"].startswith("That time is taken — I can offer Wednesday"), message["text"]
    assert "(America/New_York)" in message["text"]
    for begin, _ in alternatives:  # each offered time said in the agent's zone, e.g. "11:00 AM"
        assert begin.astimezone(ZONE).strftime("%I:%M %p").lstrip("0") in message["text"], message["text"]
    listed = await api.get("/v1/meetings", headers=tenant.auth, params={"agent_id": agent_id})
    assert listed.json()["data"] == []
    assert google.events.get("primary", {}) == {}
    assert google.calls("POST", "/calendar/v3/freeBusy"), "Google's busy times were never asked"
