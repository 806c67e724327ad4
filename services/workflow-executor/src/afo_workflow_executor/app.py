"""Composition root of workflow-executor: its store (outbox and inbox; calendars, bookings, failed requests'
answers), the booking flow (``meeting.requested`` → ``meeting.booked`` / ``meeting.failed``), cancellations
(``meeting.cancel_requested``) and the calendar and meeting RPCs the gateway serves."""

from afo_common.clock import Clock, SystemClock
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_workflow_executor.adapters.no_external_calendars import NoExternalCalendars
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.external_calendars import ExternalCalendars
from afo_workflow_executor.entrypoints.rpc import register_rpc, routes
from afo_workflow_executor.entrypoints.subscribers import MEETING_CANCEL_REQUESTED, MEETING_REQUESTED
from afo_workflow_executor.handlers.booking import MeetingRequests
from afo_workflow_executor.handlers.calendars import Calendars
from afo_workflow_executor.handlers.meetings import Meetings


def build(settings: ServiceSettings | None = None, *, outside: ExternalCalendars | None = None,
          clock: Clock | None = None) -> Service:
    settings = settings or ServiceSettings.for_service("workflow-executor")
    service = Service(settings, messaging, "afo_workflow_executor.migrations")
    store, clock = sql_store(service.unit_of_work), clock or SystemClock()
    outside = outside or NoExternalCalendars()
    meetings = Meetings(store, clock, outside)
    service.consume(MEETING_REQUESTED, MeetingRequests(store, clock, outside, MEETING_REQUESTED.max_deliver))
    service.consume(MEETING_CANCEL_REQUESTED, meetings.cancel_requested)
    register_rpc(service, routes(Calendars(store, clock), meetings))
    return service
