"""knowledge-ingest's repositories on its database, as its handlers take them (``handlers/unit_of_work.py``):
``uow.knowledge_bases``, ``uow.documents``, ``uow.chunks``, ``uow.queue``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import Repositories, SqlStore
from afo_common.messaging.unit_of_work import Events, UnitOfWorkFactory
from afo_knowledge_ingest.adapters.document_repository import ChunkRepository, DocumentRepository
from afo_knowledge_ingest.adapters.knowledge_base_repository import KnowledgeBaseRepository
from afo_knowledge_ingest.adapters.queue_repository import QueueRepository


class SqlRepositories(Repositories):
    def __init__(self, session: AsyncSession, events: Events | None = None) -> None:
        super().__init__(events)
        self.knowledge_bases = KnowledgeBaseRepository(session)
        self.documents = DocumentRepository(session)
        self.chunks = ChunkRepository(session)
        self.queue = QueueRepository(session)


def sql_store(units: UnitOfWorkFactory) -> SqlStore[SqlRepositories]:
    return SqlStore(units, SqlRepositories)
