"""The booking flow's handlers on every backend in turn (memory, SQLite, PostgreSQL — skipped, saying why, when
none answers): requests are delivered as the consumer would, and the events the store committed are read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from afo_common.events import Envelope, Event, envelope_for
from afo_common.events.conversation import MeetingCancelRequested, MeetingRequested
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.provider_errors import ProviderError
from afo_testkit.clock import FixedClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, committed_events, migrated_database
from afo_workflow_executor.adapters.memory import memory_store
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.external_calendars import ExternalEvent, MeetingDraft, SchedulingLink
from afo_workflow_executor.handlers.booking import MeetingRequests
from afo_workflow_executor.handlers.calendars import Calendars
from afo_workflow_executor.handlers.meetings import Meetings
from afo_workflow_executor.handlers.unit_of_work import Store

TENANT, OTHER = "t_acme", "t_other"
AGENT = "agt_1"
ZONE = "America/New_York"  # UTC-5 in early March 2026 (summer time starts on the 8th)
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
MAX_DELIVER = 5


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A March 2026 wall-clock time in New York (before the 8th: UTC-5) as an instant."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) + timedelta(hours=5)


@dataclass
class FakeCalendar:
    """An outside calendar as the port describes it, answering from memory (not our code patched: the port)."""

    provider: str = "google"
    held: list[Interval] = field(default_factory=list)
    answer: str = "event"  # "event", "link", or "error"
    retryable: bool = False
    booked: dict[str, MeetingDraft] = field(default_factory=dict)  # idempotency key -> draft
    cancelled: list[str] = field(default_factory=list)

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        return [i for i in self.held if i.overlaps(Interval(start, end))]

    async def book(self, draft: MeetingDraft) -> ExternalEvent | SchedulingLink:
        if self.answer == "error":
            raise ProviderError(self.provider, 503 if self.retryable else 400, "refused", retryable=self.retryable)
        if self.answer == "link":
            return SchedulingLink(f"https://calendly.example/s/{draft.idempotency_key}")
        self.booked[draft.idempotency_key] = draft
        return ExternalEvent(f"ev_{draft.idempotency_key}", f"https://calendar.example/e/{draft.idempotency_key}")

    async def cancel(self, external_id: str) -> None:
        self.cancelled.append(external_id)


@dataclass
class Outside:
    calendars: dict[str, FakeCalendar] = field(default_factory=dict)

    async def for_tenant(self, tenant_id: str) -> FakeCalendar | None:
        return self.calendars.get(tenant_id)


@dataclass
class Flow:
    store: Store
    units: UnitOfWorkFactory | None
    backend: str
    clock: FixedClock
    outside: Outside
    database: Any = None

    @property
    def requests(self) -> MeetingRequests:
        return MeetingRequests(self.store, self.clock, self.outside, MAX_DELIVER)

    @property
    def meetings(self) -> Meetings:
        return Meetings(self.store, self.clock, self.outside)

    @property
    def calendars(self) -> Calendars:
        return Calendars(self.store, self.clock)

    def delivery(self, payload: Event, tenant: str = TENANT, attempt: int = 1,
                 envelope: Envelope | None = None) -> Delivery:
        envelope = envelope or envelope_for(payload, tenant_id=tenant, source="agent-runtime")
        consumer = ("workflow-executor-meeting-requested" if isinstance(payload, MeetingRequested)
                    else "workflow-executor-meeting-cancel-requested")
        return Delivery(envelope, payload, attempt, consumer, cast(UnitOfWorkFactory, self.units))

    async def request(self, start: datetime, *, request_id: str | None = None, tenant: str = TENANT,
                      replaces: str | None = None, attempt: int = 1, agent: str = AGENT) -> Delivery:
        payload = MeetingRequested(request_id=request_id or new_id("req"), conversation_id="conv_1", agent_id=agent,
                                   lead_id="lead_1", start=start, timezone=ZONE, text="next Tuesday at 10am",
                                   replaces_meeting_id=replaces)
        delivery = self.delivery(payload, tenant, attempt)
        await self.requests(delivery)
        return delivery

    async def cancel_request(self, meeting_id: str, *, tenant: str = TENANT, conversation: str = "conv_1") -> None:
        payload = MeetingCancelRequested(request_id=new_id("req"), meeting_id=meeting_id,
                                         conversation_id=conversation, agent_id=AGENT, lead_id="lead_1")
        await self.meetings.cancel_requested(self.delivery(payload, tenant))

    async def events(self, name: str | None = None) -> list[dict[str, Any]]:
        envelopes = (list(cast(Any, self.store).outbox) if self.database is None
                     else await committed_events(self.database, messaging))
        return [e.data | {"_type": e.type, "_tenant": e.tenantid, "_causation": e.causationid} for e in envelopes
                if name is None or e.type == f"afo.{name}.v1"]


@pytest.fixture(params=BACKENDS)
async def flow(request: pytest.FixtureRequest, tmp_path: Path,
               postgres_server: PostgresDatabases | str) -> AsyncIterator[Flow]:
    clock = FixedClock(NOW)
    if request.param == "memory":
        yield Flow(memory_store(), None, "memory", clock, Outside())
        return
    database = await migrated_database(request.param, tmp_path, postgres_server, "afo_workflow_executor.migrations")
    units = UnitOfWorkFactory(database, messaging, "workflow-executor", lambda: None)
    try:
        yield Flow(sql_store(units), units, request.param, clock, Outside(), database)
    finally:
        await database.dispose()


def later(start: datetime, minutes: int) -> datetime:
    return start + timedelta(minutes=minutes)


@pytest.fixture
def google(flow: Flow) -> FakeCalendar:
    """The tenant's outside calendar (a Google one unless the test changes it)."""
    flow.outside.calendars[TENANT] = FakeCalendar()
    return flow.outside.calendars[TENANT]
