"""Composition root of workflow-executor: its store (outbox and inbox; calendars, bookings, failed requests'
answers; the CRM lead projection and the run record of CRM syncs), the booking flow (``meeting.requested`` →
``meeting.booked`` / ``meeting.failed``, on the built-in calendar and the tenant's Google Calendar or Calendly
when connected), cancellations (``meeting.cancel_requested``), the calendar and meeting RPCs the gateway
serves, the sync of leads into each tenant's CRM (``entrypoints/crm.py``) as the tenant's workflows ask, and the
workflows themselves: compiled from plain language, run on their trigger events (``entrypoints/workflows.py``); and
anomaly detection over the tenants' agents, keys and deliveries (``entrypoints/anomalies.py``)."""

from __future__ import annotations

from afo_common.clock import Clock, SystemClock
from afo_common.provider_http import RetryPolicy
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_workflow_executor.adapters.crm_hot import hot_projecting
from afo_workflow_executor.adapters.crm_providers import CrmOpener, VaultCredentials
from afo_workflow_executor.adapters.external_calendars import CalendarEndpoints, VaultExternalCalendars
from afo_workflow_executor.adapters.llm_workflows import OpenAIProposals
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.external_calendars import ExternalCalendars
from afo_workflow_executor.entrypoints.anomalies import register_anomalies
from afo_workflow_executor.entrypoints.crm import MAX_DELIVER, register_crm
from afo_workflow_executor.entrypoints.rpc import register_rpc, routes
from afo_workflow_executor.entrypoints.subscribers import MEETING_CANCEL_REQUESTED, MEETING_REQUESTED
from afo_workflow_executor.entrypoints.workflows import register_workflows
from afo_workflow_executor.handlers.anomalies import AnomalyDetector
from afo_workflow_executor.handlers.booking import MeetingRequests
from afo_workflow_executor.handlers.calendars import Calendars
from afo_workflow_executor.handlers.crm_runs import CrmRuns
from afo_workflow_executor.handlers.crm_sync import CrmSync
from afo_workflow_executor.handlers.meetings import Meetings
from afo_workflow_executor.handlers.workflow_crm_gate import GatedCrmSync
from afo_workflow_executor.handlers.workflow_runs import WorkflowRunner
from afo_workflow_executor.handlers.workflows import Proposals, WorkflowBook
from afo_workflow_executor.settings import WorkflowExecutorSettings

SERVICE = "workflow-executor"
# Retries within one delivery; a provider still failing after them is tried again on the next delivery.
CRM_RETRIES = RetryPolicy(attempts=3, max_retry_after_s=30.0)


def build(settings: ServiceSettings | None = None, *, outside: ExternalCalendars | None = None,
          clock: Clock | None = None, proposals: Proposals | None = None) -> Service:
    """``outside`` defaults to the tenants' calendars connected in the vault, ``proposals`` to the tenants'
    LLMs; tests pass their own."""
    config = WorkflowExecutorSettings.of(settings, SERVICE)
    service = Service(config, messaging, "afo_workflow_executor.migrations")
    store, clock = sql_store(service.unit_of_work), clock or SystemClock()
    if outside is None:
        calendars = VaultExternalCalendars(service.rpc, endpoints=CalendarEndpoints(
            google_api=config.google_api_base_url, google_oauth=config.google_oauth_base_url,
            calendly_api=config.calendly_api_base_url))
        service.on_stop(calendars.aclose)
        outside = calendars
    meetings = Meetings(store, clock, outside)
    service.consume(MEETING_REQUESTED, MeetingRequests(store, clock, outside, MEETING_REQUESTED.max_deliver))
    service.consume(MEETING_CANCEL_REQUESTED, meetings.cancel_requested)
    register_rpc(service, routes(Calendars(store, clock), meetings))
    sync = CrmSync(store, VaultCredentials(service.rpc), CrmOpener(CRM_RETRIES), clock, MAX_DELIVER,
                   projecting=hot_projecting)
    if proposals is None:
        llm = OpenAIProposals(service.rpc)
        service.on_stop(llm.aclose)
        proposals = llm
    book = WorkflowBook(store, clock, proposals)
    register_crm(service, GatedCrmSync(sync, store, book), CrmRuns(store))
    register_workflows(service, book, WorkflowRunner(store, book, clock))
    register_anomalies(service, AnomalyDetector(store, clock, config.anomaly_params()), config.anomaly_tick_s)
    return service
