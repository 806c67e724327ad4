"""notifier's repositories on its database, as its handlers take them: ``uow.contacts``, ``uow.notifications``
(reminders, ``handlers/unit_of_work.py``) and ``uow.webhooks`` (``handlers/webhook_store.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import Repositories, SqlStore
from afo_common.messaging.unit_of_work import Events, UnitOfWorkFactory
from afo_notifier.adapters.delivery_reports import DeliveryReportRepository
from afo_notifier.adapters.repositories import ContactRepository, NotificationRepository
from afo_notifier.adapters.webhook_repository import WebhookRepository


class SqlRepositories(Repositories):
    def __init__(self, session: AsyncSession, events: Events | None = None) -> None:
        super().__init__(events)
        self.contacts = ContactRepository(session)
        self.notifications = NotificationRepository(session)
        self.webhooks = WebhookRepository(session)
        self.delivery_reports = DeliveryReportRepository(session)


def sql_store(units: UnitOfWorkFactory) -> SqlStore[SqlRepositories]:
    return SqlStore(units, SqlRepositories)
