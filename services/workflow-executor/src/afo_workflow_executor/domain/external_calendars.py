"""The port a tenant's outside calendar (Google Calendar, Calendly) implements for the booking flow.

The built-in calendar's rules still decide which times are offered (hours, notice, buffers, horizon); an
outside calendar adds what it already holds (``busy``) and receives the meeting (``book``). A provider that
cannot book on the lead's behalf (Calendly) answers ``book`` with a single-use scheduling link instead.
Every method raises ``afo_common.provider_errors.ProviderError`` on failure; none ever puts a credential in a
message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from afo_workflow_executor.domain.calendar import Interval


@dataclass(frozen=True)
class MeetingDraft:
    start: datetime
    end: datetime
    time_zone: str
    title: str
    description: str
    attendee_email: str | None
    attendee_name: str | None
    # Stable per booking request: a retried create finds or reuses the event the first attempt made.
    idempotency_key: str


@dataclass(frozen=True)
class ExternalEvent:
    external_id: str
    url: str | None


@dataclass(frozen=True)
class SchedulingLink:
    """The provider books only through its own page: the lead finishes the booking there."""

    url: str


class ExternalCalendar(Protocol):
    provider: str  # "google", "calendly"

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """What the provider's calendar already holds overlapping [start, end), in order."""
        ...

    async def book(self, draft: MeetingDraft) -> ExternalEvent | SchedulingLink: ...

    async def cancel(self, external_id: str) -> None:
        """Cancel the provider's event; an event that is already gone is not an error."""
        ...


class ExternalCalendars(Protocol):
    async def for_tenant(self, tenant_id: str) -> ExternalCalendar | None:
        """The tenant's connected outside calendar (Google before Calendly), or None for the built-in one."""
        ...
