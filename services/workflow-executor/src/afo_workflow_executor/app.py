"""Composition root of workflow-executor. Booking, CRM sync and plain-language workflows arrive with issue 4.
Today it owns and migrates its store (outbox and inbox; calendars and bookings, whose domain and repositories
exist but are not yet wired) and answers its health RPC; it consumes nothing yet."""

from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_workflow_executor.adapters.tables import messaging


def build(settings: ServiceSettings | None = None) -> Service:
    settings = settings or ServiceSettings.for_service("workflow-executor")
    return Service(settings, messaging, "afo_workflow_executor.migrations")
