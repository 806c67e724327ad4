"""Agents' calendars and the meetings booked on them, owned by workflow-executor: the gateway checks who may do
what (and, for a calendar, that the agent is the tenant's: agent-runtime answers 404 for another tenant's), then
asks the owner over RPC."""

from __future__ import annotations

from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import workflow_executor as wx
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.owners import Owners


class Meetings:
    def __init__(self, owners: Owners, audit: AuditTrail) -> None:
        self._owners = owners
        self._audit = audit

    async def _agent(self, principal: Principal, agent_id: str) -> ar.AgentView:
        return await self._owners.call(ar.GET_AGENT, ar.AgentRef(tenant_id=principal.tenant_id, agent_id=agent_id))

    async def calendar(self, principal: Principal, agent_id: str) -> wx.CalendarView:
        require(principal, Permission.READ)
        agent = await self._agent(principal, agent_id)
        zone = agent.spec.get("timezone")
        return await self._owners.call(wx.GET_CALENDAR, wx.AgentCalendarRef(
            tenant_id=principal.tenant_id, agent_id=agent_id, time_zone=zone if isinstance(zone, str) else None))

    async def put_calendar(self, principal: Principal, agent_id: str,
                           settings: wx.CalendarSettingsBody) -> wx.CalendarView:
        require(principal, Permission.WRITE)
        await self._agent(principal, agent_id)
        calendar = await self._owners.call(wx.PUT_CALENDAR, wx.PutCalendar(tenant_id=principal.tenant_id,
                                                                            agent_id=agent_id, settings=settings))
        await self._audit.changed(principal, "agent.calendar.update", agent_id)
        return calendar

    async def meetings(self, principal: Principal, limit: int, cursor: str | None, agent_id: str | None,
                       lead_id: str | None, status: wx.MeetingStatus | None) -> Page[wx.MeetingView]:
        require(principal, Permission.READ)
        request = wx.ListMeetings(tenant_id=principal.tenant_id, limit=limit, cursor=cursor, agent_id=agent_id,
                                  lead_id=lead_id, status=status)
        return await self._owners.call(wx.LIST_MEETINGS, request)

    async def meeting(self, principal: Principal, meeting_id: str) -> wx.MeetingView:
        require(principal, Permission.READ)
        return await self._owners.call(wx.GET_MEETING, self._ref(principal, meeting_id))

    async def invite(self, principal: Principal, meeting_id: str) -> wx.Invite:
        require(principal, Permission.READ)
        return await self._owners.call(wx.MEETING_INVITE, self._ref(principal, meeting_id))

    async def cancel(self, principal: Principal, meeting_id: str) -> wx.MeetingView:
        require(principal, Permission.WRITE)
        meeting = await self._owners.call(wx.CANCEL_MEETING, self._ref(principal, meeting_id))
        await self._audit.changed(principal, "meeting.cancel", meeting_id)
        return meeting

    @staticmethod
    def _ref(principal: Principal, meeting_id: str) -> wx.MeetingRef:
        return wx.MeetingRef(tenant_id=principal.tenant_id, meeting_id=meeting_id)
