"""Composition root of workflow-executor. It owns and migrates its store (outbox and inbox; calendars and
bookings; the CRM lead projection and the run record of CRM syncs), answers its health RPC, and syncs leads
into each tenant's CRM (``entrypoints/crm.py``)."""

from afo_common.clock import SystemClock
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_workflow_executor.adapters.crm_providers import CrmOpener, VaultCredentials
from afo_workflow_executor.adapters.providers.http import RetryPolicy
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.entrypoints.crm import MAX_DELIVER, register_crm
from afo_workflow_executor.handlers.crm_runs import CrmRuns
from afo_workflow_executor.handlers.crm_sync import CrmSync

# Retries within one delivery; a provider still failing after them is tried again on the next delivery.
CRM_RETRIES = RetryPolicy(attempts=3, max_retry_after_s=30.0)


def build(settings: ServiceSettings | None = None) -> Service:
    settings = settings or ServiceSettings.for_service("workflow-executor")
    service = Service(settings, messaging, "afo_workflow_executor.migrations")
    store = sql_store(service.unit_of_work)
    sync = CrmSync(store, VaultCredentials(service.rpc), CrmOpener(CRM_RETRIES), SystemClock(), MAX_DELIVER)
    register_crm(service, sync, CrmRuns(store))
    return service
