"""The whole funnel over the public API of the running platform (every service, real nats-server): a lead
qualified in the chat asks for "next Wednesday at 10am", the agent books it on its built-in calendar and says
so in the conversation (SSE ``reply.completed`` + ``meeting.booked``), the meeting and its invitation are
served, the closed conversation is analysed (outcome ``booked``), and the lead — its meeting and summary —
lands in the built-in CRM. A time already taken is answered in the conversation with three free times; the
lead's "the second one" books that one, never overlapping the first booking. Bad input to the same routes
is a 4xx problem, and a conversation closed twice (even at once) is analysed once."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from afo_testkit.problems import assert_problem
from tests.e2e.journey import FIVE_TURNS, Tenant, conversation, eventually, published_agent, say, sign_up
from tests.e2e.sse import SseReader

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ZONE = "America/New_York"
NEW_YORK = ZoneInfo(ZONE)
WAIT_S = 15.0
ASK = "Can we meet next Wednesday at 10am?"


def next_wednesday_at_ten(today: date) -> datetime:
    """What agent-runtime reads "next Wednesday at 10am" as (domain/engine/scheduling.py): the Wednesday of
    the next calendar week (Monday to Sunday), 10:00 in the agent's zone."""
    next_monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(next_monday + timedelta(days=2), time(10), NEW_YORK)


def today_in_new_york() -> date:
    return datetime.now(NEW_YORK).date()


def clock(start: datetime) -> str:
    """A start as the agent says it: "9:30 AM"."""
    local = start.astimezone(NEW_YORK)
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'PM' if local.hour >= 12 else 'AM'}"


async def booked_meetings(api: httpx.AsyncClient, tenant: Tenant, count: int, **params: str) -> list[dict[str, Any]]:
    body = await eventually(api, tenant, "/v1/meetings", lambda b: len(b["data"]) >= count,
                            params={"status": "booked", **params}, within_s=WAIT_S)
    meetings: list[dict[str, Any]] = body["data"]
    return meetings


def stream(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str, until: str) -> SseReader:
    return SseReader(api, f"/v1/conversations/{conversation_id}/stream", headers=tenant.auth, until=until)


async def test_a_qualified_lead_books_next_wednesday_at_10am_and_lands_in_the_builtin_crm_with_its_summary(
    api: httpx.AsyncClient,
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone=ZONE)
    conversation_id = await conversation(api, tenant, agent_id)
    replies = [await say(api, tenant, conversation_id, text) for text in FIVE_TURNS]
    lead = replies[-1]["lead"]
    assert lead["qualified"] is True and lead["missing_fields"] == []

    reader = stream(api, tenant, conversation_id, until="meeting.booked")
    await reader.opened()
    expected = {next_wednesday_at_ten(today_in_new_york())}
    asked = await say(api, tenant, conversation_id, ASK)
    expected.add(next_wednesday_at_ten(today_in_new_york()))  # either, should midnight pass in New York meanwhile
    await reader.ended(WAIT_S)

    assert asked["reply"]["intent"] == "scheduling"
    [confirmation] = [data for kind, data in reader.events
                      if kind == "reply.completed" and data["intent"] == "meeting_booked"]
    [notice] = [data for kind, data in reader.events if kind == "meeting.booked"]
    assert notice["message_id"] == confirmation["message_id"]
    start = datetime.fromisoformat(notice["start"])
    assert start in expected
    local = start.astimezone(NEW_YORK)
    assert confirmation["text"] == (f"You're booked! Your meeting is on Wednesday, {local:%b} {local.day} at "
                                    f"10:00 AM ({ZONE}).")

    [meeting] = await booked_meetings(api, tenant, 1, lead_id=lead["id"])
    assert meeting["id"] == notice["meeting_id"]
    assert (meeting["agent_id"], meeting["conversation_id"], meeting["timezone"]) == (agent_id, conversation_id, ZONE)
    assert datetime.fromisoformat(meeting["start"]) == start
    assert datetime.fromisoformat(meeting["end"]) - start == timedelta(minutes=30)
    invite = await api.get(f"/v1/meetings/{meeting['id']}/invite.ics", headers=tenant.auth)
    assert invite.status_code == 200 and invite.headers["content-type"].startswith("text/calendar")
    [event] = Calendar.from_ical(invite.content).walk("VEVENT")
    assert event["UID"] == f"{meeting['id']}@afo" and event.decoded("DTSTART") == start

    # The same time asked again is the meeting already booked: said, not booked a second time.
    again = await say(api, tenant, conversation_id, ASK)
    assert f"already booked for Wednesday, {local:%b} {local.day} at 10:00 AM ({ZONE})" in again["reply"]["text"]

    closed = await api.post(f"/v1/conversations/{conversation_id}/close", headers=tenant.auth)
    assert closed.status_code == 200, closed.text
    ended = await eventually(api, tenant, f"/v1/conversations/{conversation_id}",
                             lambda body: body["analysis"] is not None, within_s=WAIT_S)
    analysis = ended["analysis"]
    assert analysis["outcome"] == "booked"
    assert analysis["facts"]["meeting_id"] == meeting["id"]
    assert "We need an assistant that answers questions on our website" in analysis["summary"]

    saved = (await api.get(f"/v1/leads/{lead['id']}", headers=tenant.auth)).json()
    assert saved["fields"]["meeting_id"] == meeting["id"]
    assert datetime.fromisoformat(saved["fields"]["meeting_start"]) == start
    assert saved["fields"]["email"] == "dana@northwind.example"
    assert saved["summary"] == analysis["summary"]

    # The built-in CRM (no CRM connected): one run per event that changed the lead, each synced to the lead.
    triggers = {"lead.qualified", "meeting.booked", "conversation.analyzed"}
    runs = await eventually(api, tenant, f"/v1/leads/{lead['id']}/crm-syncs",
                            lambda body: triggers <= {r["trigger"] for r in body["data"] if r["status"] == "synced"},
                            within_s=WAIT_S)
    assert sorted(r["trigger"] for r in runs["data"]) == sorted(triggers)
    for run in runs["data"]:
        assert (run["provider"], run["status"], run["record_id"], run["url"], run["steps"]) == (
            "builtin", "synced", lead["id"], f"/v1/leads/{lead['id']}", []), run
    assert sorted(r["action"] for r in runs["data"]) == ["created", "updated", "updated"]  # one record


async def test_a_taken_time_is_answered_with_three_alternatives_and_the_leads_pick_is_booked(
    api: httpx.AsyncClient,
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone=ZONE)
    first = await conversation(api, tenant, agent_id)
    await say(api, tenant, first, "I'm Dana from Northwind Traders, dana@northwind.example")
    await say(api, tenant, first, ASK)
    [taken] = await booked_meetings(api, tenant, 1, agent_id=agent_id)
    taken_start = datetime.fromisoformat(taken["start"])

    second = await conversation(api, tenant, agent_id)
    await say(api, tenant, second, "I'm Lee from Contoso")  # the agent asks for an email next
    offered_reader = stream(api, tenant, second, until="meeting.failed")
    await offered_reader.opened()
    await say(api, tenant, second, ASK)
    await offered_reader.ended(WAIT_S)

    [notice] = [data for kind, data in offered_reader.events if kind == "meeting.failed"]
    [offer] = [data for kind, data in offered_reader.events
               if kind == "reply.completed" and data["intent"] == "meeting_failed"]
    assert notice["reason"] == "slot_taken" and notice["message_id"] == offer["message_id"]
    starts = [datetime.fromisoformat(s) for s in notice["alternatives"]]
    assert len(set(starts)) == 3 and taken_start not in starts
    # Free times around the taken one, inside the default hours (Mon-Fri 09:00-17:00) and clear of it.
    for start in starts:
        local = start.astimezone(NEW_YORK)
        assert local.weekday() < 5 and time(9) <= local.time() and local + timedelta(minutes=30) <= \
            datetime.combine(local.date(), time(17), NEW_YORK), local
        assert abs(start - taken_start) >= timedelta(minutes=30), local
    day = taken_start.astimezone(NEW_YORK)
    assert offer["text"] == (f"That time is taken — I can offer Wednesday, {day:%b} {day.day} at {clock(starts[0])}, "
                             f"{clock(starts[1])} or {clock(starts[2])} ({ZONE}). Which suits you?")

    booked_reader = stream(api, tenant, second, until="meeting.booked")
    await booked_reader.opened()
    picked = await say(api, tenant, second, "the second one")
    await booked_reader.ended(WAIT_S)

    assert clock(starts[1]) in picked["reply"]["text"]
    assert "doesn't look right" not in picked["reply"]["text"]
    # "the second one" picked a time; it answered no question of the agent's (no field holds it).
    assert "the second one" not in picked["lead"]["fields"].values()
    [booked] = [data for kind, data in booked_reader.events if kind == "meeting.booked"]
    assert datetime.fromisoformat(booked["start"]) == starts[1]
    live = await booked_meetings(api, tenant, 2, agent_id=agent_id)
    assert len(live) == 2
    by_conversation = {m["conversation_id"]: m for m in live}
    assert by_conversation[first]["id"] == taken["id"]
    assert by_conversation[second]["id"] == booked["meeting_id"]
    assert datetime.fromisoformat(by_conversation[second]["start"]) == starts[1]
    assert len({m["calendar_id"] for m in live}) == 1
    (a_start, a_end), (b_start, b_end) = sorted(
        (datetime.fromisoformat(m["start"]), datetime.fromisoformat(m["end"])) for m in live)
    assert a_end <= b_start, (a_start, a_end, b_start, b_end)


async def test_bad_calendar_settings_foreign_meetings_and_unknown_or_repeated_closes(
    api: httpx.AsyncClient,
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone=ZONE)
    url = f"/v1/agents/{agent_id}/calendar"
    headers = {**tenant.auth, "Content-Type": "application/json"}
    good = {"time_zone": ZONE, "weekly": {"mon": ["09:00-17:00"]}}
    for raw in ('{"time_zone": ', "[]", '{"weekly": {}}', '{"time_zone": "UTC", "weekly": {"mon": ["9-5"]}}',
                '{"time_zone": "UTC", "weekly": {"funday": []}}', '{"time_zone": "UTC", "weekly": {}, "x": 1}'):
        assert_problem(await api.put(url, headers=headers, content=raw), 422)
    for bad in ({**good, "time_zone": "Mars/Olympus"}, {**good, "weekly": {"mon": ["17:00-09:00"]}},
                {**good, "weekly": {"mon": ["09:00-12:00", "11:00-13:00"]}}, {**good, "slot_step_minutes": 7}):
        assert_problem(await api.put(url, headers=tenant.auth, json=bad), 422)
    calendar = await api.get(url, headers=tenant.auth)
    assert calendar.status_code == 200 and calendar.json()["is_default"] is True  # nothing bad was kept
    assert_problem(await api.put("/v1/agents/agt_nosuchagent/calendar", headers=tenant.auth, json=good), 404)

    # Another tenant's meeting, agent's calendar and conversation are not found.
    conversation_id = await conversation(api, tenant, agent_id)
    await say(api, tenant, conversation_id, ASK)
    [meeting] = await booked_meetings(api, tenant, 1, agent_id=agent_id)
    stranger = await sign_up(api, company="Elsewhere")
    for path in (f"/v1/meetings/{meeting['id']}", f"/v1/meetings/{meeting['id']}/invite.ics", url):
        assert_problem(await api.get(path, headers=stranger.auth), 404)
    assert_problem(await api.put(url, headers=stranger.auth, json=good), 404)
    assert_problem(await api.post(f"/v1/meetings/{meeting['id']}/cancel", headers=stranger.auth), 404)
    assert (await api.get("/v1/meetings", headers=stranger.auth, params={"agent_id": agent_id})).json()["data"] == []
    assert_problem(await api.post(f"/v1/conversations/{conversation_id}/close", headers=stranger.auth), 404)
    assert_problem(await api.post("/v1/conversations/cnv_nosuchconversation/close", headers=tenant.auth), 404)
    assert_problem(await api.post(f"/v1/conversations/{'c' * 65}/close", headers=tenant.auth), 422)
    still = (await api.get(f"/v1/meetings/{meeting['id']}", headers=tenant.auth)).json()
    assert still["status"] == "booked"
    assert (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()["closed_at"] is None

    # Closed twice at once, then again: one close, one analysis, one CRM sync of it.
    twice = await conversation(api, tenant, agent_id)
    lead_id = (await say(api, tenant, twice, "I'm Lee from Contoso, lee@contoso.example"))["lead"]["id"]
    closes = await asyncio.gather(*(api.post(f"/v1/conversations/{twice}/close", headers=tenant.auth)
                                    for _ in range(2)))
    again = await api.post(f"/v1/conversations/{twice}/close", headers=tenant.auth)
    assert [c.status_code for c in (*closes, again)] == [200, 200, 200], [c.text for c in (*closes, again)]
    assert len({c.json()["closed_at"] for c in (*closes, again)}) == 1
    analysed = await eventually(api, tenant, f"/v1/conversations/{twice}",
                                lambda body: body["analysis"] is not None, within_s=WAIT_S)
    await eventually(api, tenant, f"/v1/leads/{lead_id}/crm-syncs",
                     lambda body: any(r["trigger"] == "conversation.analyzed" and r["status"] == "synced"
                                      for r in body["data"]), within_s=WAIT_S)
    # A later conversation closed and analysed: the same consumers have had the doubled close's events too.
    later = await conversation(api, tenant, agent_id)
    later_lead = (await say(api, tenant, later, "I'm Kim from Fabrikam, kim@fabrikam.example"))["lead"]["id"]
    assert (await api.post(f"/v1/conversations/{later}/close", headers=tenant.auth)).status_code == 200
    await eventually(api, tenant, f"/v1/leads/{later_lead}/crm-syncs",
                     lambda body: any(r["trigger"] == "conversation.analyzed" and r["status"] == "synced"
                                      for r in body["data"]), within_s=WAIT_S)
    runs = (await api.get(f"/v1/leads/{lead_id}/crm-syncs", headers=tenant.auth)).json()["data"]
    assert [r["trigger"] for r in runs].count("conversation.analyzed") == 1, runs
    final = (await api.get(f"/v1/conversations/{twice}", headers=tenant.auth)).json()
    assert final["analysis"] == analysed["analysis"]
    assert (await api.get(f"/v1/leads/{lead_id}", headers=tenant.auth)).json()["summary"] == \
        analysed["analysis"]["summary"]
