"""No tenant has an outside calendar: every booking is on the built-in calendar alone (the booking benchmark,
which measures the flow without provider time)."""

from __future__ import annotations

from afo_workflow_executor.domain.external_calendars import ExternalCalendar


class NoExternalCalendars:
    async def for_tenant(self, tenant_id: str) -> ExternalCalendar | None:
        return None
