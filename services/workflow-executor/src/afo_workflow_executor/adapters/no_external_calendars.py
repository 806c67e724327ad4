"""No tenant has an outside calendar: every booking is on the built-in calendar alone. The composition root
uses it until the resolver of connected Google / Calendly calendars is wired."""

from __future__ import annotations

from afo_workflow_executor.domain.external_calendars import ExternalCalendar


class NoExternalCalendars:
    async def for_tenant(self, tenant_id: str) -> ExternalCalendar | None:
        return None
