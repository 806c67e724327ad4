"""workflow-executor's repositories on its database, as its handlers take them (``handlers/unit_of_work.py``):
``uow.calendars``, ``uow.bookings``, ``uow.failures``, ``uow.crm_leads``, ``uow.crm_syncs``, ``uow.workflows``,
``uow.anomalies``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import Repositories, SqlStore
from afo_common.messaging.unit_of_work import Events, UnitOfWorkFactory
from afo_workflow_executor.adapters.anomaly_repository import AnomalyRepository
from afo_workflow_executor.adapters.booking_repository import BookingRepository
from afo_workflow_executor.adapters.calendar_repository import CalendarRepository
from afo_workflow_executor.adapters.crm_repository import CrmLeadRepository, CrmSyncRepository
from afo_workflow_executor.adapters.failure_repository import FailureRepository
from afo_workflow_executor.adapters.workflow_repository import WorkflowRepository


class SqlRepositories(Repositories):
    def __init__(self, session: AsyncSession, events: Events | None = None) -> None:
        super().__init__(events)
        self.calendars = CalendarRepository(session)
        self.bookings = BookingRepository(session)
        self.crm_leads = CrmLeadRepository(session)
        self.crm_syncs = CrmSyncRepository(session)
        self.failures = FailureRepository(session)
        self.workflows = WorkflowRepository(session)
        self.anomalies = AnomalyRepository(session)


def sql_store(units: UnitOfWorkFactory) -> SqlStore[SqlRepositories]:
    return SqlStore(units, SqlRepositories)
