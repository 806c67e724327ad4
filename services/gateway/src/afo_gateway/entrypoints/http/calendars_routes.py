"""An agent's built-in calendar (owned by workflow-executor): ``/v1/agents/{agent_id}/calendar``. The calendar
belongs to the agent (one each), so it lives under the agent's path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from afo_common.rpcs.workflow_executor import CalendarSettingsBody, CalendarView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, GatewayDep

router = APIRouter(prefix="/v1/agents", tags=["calendars"])

AgentId = Annotated[str, Path(max_length=64)]
SettingsBody = Annotated[CalendarSettingsBody, Body(openapi_examples={"office hours": {"value": {
    "time_zone": "America/New_York", "weekly": {day: ["09:00-12:00", "13:00-17:00"]
                                                for day in ("mon", "tue", "wed", "thu", "fri")},
    "exceptions": {"2026-12-25": []}, "meeting_minutes": 30, "buffer_after_minutes": 15,
    "minimum_notice_minutes": 240, "horizon_days": 30}}})]
_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"description": "no such agent in this tenant"},
    422: {"description": "settings that do not hold together: unknown zone, overlapping or reversed ranges, a "
                         "step that does not divide an hour, buffers that are not whole steps"},
}


@router.get("/{agent_id}/calendar", response_model=CalendarView, responses=_RESPONSES)
async def get_calendar(agent_id: AgentId, principal: CurrentPrincipal, gw: GatewayDep) -> CalendarView:
    """The agent's calendar. Before one is put (or the agent's first booking made the default), the defaults:
    Monday to Friday 09:00-17:00, 30-minute meetings, two hours' notice, 60 days ahead (``is_default: true``;
    the first booking request creates them in the lead's time zone)."""
    return await gw.meetings.calendar(principal, agent_id)


@router.put("/{agent_id}/calendar", response_model=CalendarView, responses=_RESPONSES)
async def put_calendar(agent_id: AgentId, body: SettingsBody, principal: CurrentPrincipal,
                       gw: GatewayDep) -> CalendarView:
    """Replaces the agent's calendar settings; meetings already booked stay booked."""
    return await gw.meetings.put_calendar(principal, agent_id, body)
