"""An agent's built-in calendar, read and put over the API. Until one is put (or the agent's first booking
request makes the default), reading answers the defaults in UTC, marked ``is_default``."""

from __future__ import annotations

from afo_common.clock import Clock
from afo_common.ids import new_id
from afo_common.rpcs import workflow_executor as wx
from afo_workflow_executor.domain.calendar import InvalidSettings, default_settings, parse_settings
from afo_workflow_executor.domain.records import CalendarRow
from afo_workflow_executor.handlers.errors import Invalid
from afo_workflow_executor.handlers.unit_of_work import Store
from afo_workflow_executor.handlers.views import calendar_view


class Calendars:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def get(self, request: wx.AgentCalendarRef) -> wx.CalendarView:
        async with self._store.reading() as repos:
            row = await repos.calendars.of_owner(request.tenant_id, "agent", request.agent_id)
        return calendar_view(request.agent_id, row, default_settings(request.time_zone or "UTC"))

    async def put(self, request: wx.PutCalendar) -> wx.CalendarView:
        try:
            settings = parse_settings(request.settings.model_dump(mode="json"))
        except InvalidSettings as exc:
            raise Invalid(str(exc)) from exc
        now = self._clock.now()
        async with self._store() as uow:
            row = await uow.calendars.ensure(CalendarRow(new_id("cal"), request.tenant_id, "agent", request.agent_id,
                                                         settings, now, now))
            if row.settings != settings:
                row = CalendarRow(row.id, row.tenant_id, row.owner_kind, row.owner_id, settings, row.created_at, now)
                await uow.calendars.save(row)
        return calendar_view(request.agent_id, row, settings)
