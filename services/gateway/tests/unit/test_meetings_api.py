"""Calendars and meetings over HTTP, forwarded to workflow-executor's RPCs: a stand-in answers them from memory
(and agent-runtime's agent lookup) on a real nats-server, in front of a gateway replica built by the
composition root. Another tenant's agent or meeting is 404 everywhere; settings are checked at the edge (shape)
and by the owner (meaning), both 422."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import workflow_executor as wx
from afo_common.rpcs.pages import Page
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def meeting(meeting_id: str, agent_id: str, status: wx.MeetingStatus = "booked") -> wx.MeetingView:
    return wx.MeetingView(id=meeting_id, agent_id=agent_id, lead_id="lead_1", conversation_id="conv_1",
                          calendar_id="cal_1", status=status, start=NOW + timedelta(days=1),
                          end=NOW + timedelta(days=1, minutes=30), timezone="America/New_York", title="Meeting",
                          provider="builtin", external_id=None, url=None, rescheduled_from=None, cancelled_by=None,
                          created_at=NOW, updated_at=NOW)


@dataclass
class WorkflowExecutor:
    """workflow-executor (and agent-runtime's agents.get) as the gateway sees them, tenant by tenant."""

    agents: dict[str, str] = field(default_factory=dict)  # agent -> tenant
    calendars: dict[tuple[str, str], wx.CalendarView] = field(default_factory=dict)
    meetings: dict[str, tuple[str, wx.MeetingView]] = field(default_factory=dict)
    calls: list[tuple[str, BaseModel]] = field(default_factory=list)

    async def agent(self, r: ar.AgentRef) -> ar.AgentView:
        if self.agents.get(r.agent_id) != r.tenant_id:
            raise RpcError("not_found", f"agent {r.agent_id} not found")
        return ar.AgentView(id=r.agent_id, spec={"timezone": "Europe/Paris"}, published_version=1, created_at=NOW,
                            updated_at=NOW)

    async def get_calendar(self, r: wx.AgentCalendarRef) -> wx.CalendarView:
        default = wx.CalendarView(id=None, agent_id=r.agent_id, is_default=True, created_at=None, updated_at=None,
                                  settings=wx.CalendarSettingsBody(time_zone="UTC", weekly={"mon": ["09:00-17:00"]}))
        return self.calendars.get((r.tenant_id, r.agent_id), default)

    async def put_calendar(self, r: wx.PutCalendar) -> wx.CalendarView:
        if r.settings.time_zone == "Mars/Olympus":
            raise RpcError("invalid", "unknown time zone 'Mars/Olympus'",
                           [{"loc": ["settings"], "msg": "unknown time zone", "type": "invalid_settings"}])
        view = wx.CalendarView(id="cal_1", agent_id=r.agent_id, is_default=False, settings=r.settings,
                               created_at=NOW, updated_at=NOW)
        self.calendars[(r.tenant_id, r.agent_id)] = view
        return view

    def _meeting(self, r: wx.MeetingRef) -> wx.MeetingView:
        tenant, view = self.meetings.get(r.meeting_id, ("", None))
        if view is None or tenant != r.tenant_id:
            raise RpcError("not_found", f"meeting {r.meeting_id} not found")
        return view

    async def list_meetings(self, r: wx.ListMeetings) -> Page[wx.MeetingView]:
        return Page(data=[v for t, v in self.meetings.values() if t == r.tenant_id
                          and r.agent_id in (None, v.agent_id) and r.status in (None, v.status)][: r.limit])

    async def get_meeting(self, r: wx.MeetingRef) -> wx.MeetingView:
        return self._meeting(r)

    async def cancel(self, r: wx.MeetingRef) -> wx.MeetingView:
        view = self._meeting(r).model_copy(update={"status": "cancelled", "cancelled_by": "tenant"})
        self.meetings[view.id] = (r.tenant_id, view)
        return view

    async def invite(self, r: wx.MeetingRef) -> wx.Invite:
        return wx.Invite(filename=f"{self._meeting(r).id}.ics", ics=ICS)

    def handlers(self) -> dict[RpcOperation[Any, Any], Callable[[Any], Awaitable[BaseModel]]]:
        return {ar.GET_AGENT: self.agent, wx.GET_CALENDAR: self.get_calendar, wx.PUT_CALENDAR: self.put_calendar,
                wx.LIST_MEETINGS: self.list_meetings, wx.GET_MEETING: self.get_meeting,
                wx.CANCEL_MEETING: self.cancel, wx.MEETING_INVITE: self.invite}


@pytest.fixture
async def wx_stand_in(connection: NatsConnection) -> WorkflowExecutor:
    stand_in = WorkflowExecutor()
    await answer_rpcs(connection, stand_in.handlers(), stand_in.calls)
    assert {op.name for op in wx.OPERATIONS} <= {op.name for op in stand_in.handlers()}
    return stand_in


@pytest.fixture
async def tenants(gateways: Any, wx_stand_in: WorkflowExecutor) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    ours, theirs = await gateways.sign_up(client), await gateways.sign_up(client)
    for owner, suffix in ((ours, "ours"), (theirs, "theirs")):
        wx_stand_in.agents[f"agt_{suffix}"] = owner.tenant_id
        wx_stand_in.meetings[f"mtg_{suffix}"] = (owner.tenant_id, meeting(f"mtg_{suffix}", f"agt_{suffix}"))
    return client, ours, theirs


async def test_an_agents_calendar_is_read_and_put(tenants: Any, wx_stand_in: WorkflowExecutor) -> None:
    client, ours, _ = tenants
    settings = {"time_zone": "Europe/Paris", "weekly": {"tue": ["10:00-12:00", "14:00-18:00"]},
                "exceptions": {"2026-12-25": []}, "meeting_minutes": 45}

    default = await client.get("/v1/agents/agt_ours/calendar", headers=ours.auth)
    put = await client.put("/v1/agents/agt_ours/calendar", headers=ours.auth, json=settings)
    read = await client.get("/v1/agents/agt_ours/calendar", headers=ours.auth)

    assert default.status_code == 200 and default.json()["is_default"] is True
    asked = next(r for name, r in wx_stand_in.calls if name == wx.GET_CALENDAR.name)
    assert isinstance(asked, wx.AgentCalendarRef) and asked.time_zone == "Europe/Paris"  # the agent's own zone
    assert put.status_code == 200, put.text
    assert read.json()["settings"]["weekly"] == settings["weekly"] and read.json()["id"] == "cal_1"
    sent = [r for name, r in wx_stand_in.calls if name == wx.PUT_CALENDAR.name][-1]
    assert isinstance(sent, wx.PutCalendar) and sent.tenant_id == ours.tenant_id
    assert sent.settings.meeting_minutes == 45 and sent.settings.buffer_after_minutes == 0


@pytest.mark.parametrize("settings", [
    {"time_zone": "UTC", "weekly": {"mon": ["9-5"]}},             # not HH:MM-HH:MM
    {"time_zone": "UTC", "weekly": {"someday": ["09:00-10:00"]}},  # not a weekday
    {"time_zone": "UTC", "weekly": {}, "meeting_minutes": 0},
    {"weekly": {}},                                                # no zone
    {"time_zone": "UTC", "weekly": {}, "colour": "blue"},          # unknown field
])
async def test_malformed_settings_are_refused_at_the_edge(tenants: Any, wx_stand_in: WorkflowExecutor,
                                                          settings: dict[str, Any]) -> None:
    client, ours, _ = tenants

    response = await client.put("/v1/agents/agt_ours/calendar", headers=ours.auth, json=settings)

    assert_problem(response, 422, "validation-error")
    assert not [name for name, _ in wx_stand_in.calls if name == wx.PUT_CALENDAR.name]


async def test_settings_the_owner_refuses_are_422_with_its_reason(tenants: Any) -> None:
    client, ours, _ = tenants

    response = await client.put("/v1/agents/agt_ours/calendar", headers=ours.auth,
                                json={"time_zone": "Mars/Olympus", "weekly": {}})

    problem = assert_problem(response, 422, "validation-error")
    assert "Mars/Olympus" in problem["detail"]


async def test_meetings_are_listed_read_invited_and_cancelled(tenants: Any, wx_stand_in: WorkflowExecutor) -> None:
    client, ours, _ = tenants

    listed = await client.get("/v1/meetings", headers=ours.auth, params={"agent_id": "agt_ours", "status": "booked"})
    one = await client.get("/v1/meetings/mtg_ours", headers=ours.auth)
    invite = await client.get("/v1/meetings/mtg_ours/invite.ics", headers=ours.auth)
    cancelled = await client.post("/v1/meetings/mtg_ours/cancel", headers=ours.auth)
    bad_status = await client.get("/v1/meetings", headers=ours.auth, params={"status": "done"})

    assert listed.status_code == 200 and [m["id"] for m in listed.json()["data"]] == ["mtg_ours"]
    sent = [r for name, r in wx_stand_in.calls if name == wx.LIST_MEETINGS.name][-1]
    assert isinstance(sent, wx.ListMeetings) and (sent.agent_id, sent.status) == ("agt_ours", "booked")
    assert one.status_code == 200 and one.json()["start"] == "2026-03-03T14:00:00Z"
    assert invite.status_code == 200 and invite.headers["content-type"].startswith("text/calendar")
    assert invite.text == ICS and 'filename="mtg_ours.ics"' in invite.headers["content-disposition"]
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(bad_status, 422, "validation-error")


async def test_another_tenants_agent_and_meeting_are_not_found_anywhere(tenants: Any,
                                                                        wx_stand_in: WorkflowExecutor) -> None:
    client, ours, _ = tenants

    for response in [await client.get("/v1/agents/agt_theirs/calendar", headers=ours.auth),
                     await client.put("/v1/agents/agt_theirs/calendar", headers=ours.auth,
                                      json={"time_zone": "UTC", "weekly": {}}),
                     await client.get("/v1/meetings/mtg_theirs", headers=ours.auth),
                     await client.get("/v1/meetings/mtg_theirs/invite.ics", headers=ours.auth),
                     await client.post("/v1/meetings/mtg_theirs/cancel", headers=ours.auth)]:
        assert_problem(response, 404, "not-found")
    assert wx_stand_in.meetings["mtg_theirs"][1].status == "booked"
    assert not [name for name, _ in wx_stand_in.calls if name == wx.PUT_CALENDAR.name]
    listed = await client.get("/v1/meetings", headers=ours.auth)
    assert [m["id"] for m in listed.json()["data"]] == ["mtg_ours"]


async def test_no_key_no_meetings(tenants: Any) -> None:
    client, _, _ = tenants

    assert_problem(await client.get("/v1/meetings"), 401, "unauthorized")
    assert_problem(await client.get("/v1/agents/agt_ours/calendar"), 401, "unauthorized")
