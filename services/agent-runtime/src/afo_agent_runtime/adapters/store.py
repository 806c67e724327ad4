"""agent-runtime's repositories on its database, as its handlers take them (``handlers/unit_of_work.py``):
``uow.agents``, ``uow.agent_tests``, ``uow.conversations``, ``uow.leads``, ``uow.channels``, ``uow.analytics``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.agent_repository import AgentRepository
from afo_agent_runtime.adapters.agent_test_repository import AgentTestRepository
from afo_agent_runtime.adapters.analytics_repository import AnalyticsRepository
from afo_agent_runtime.adapters.channel_repository import ChannelRepository
from afo_agent_runtime.adapters.conversation_repository import ConversationRepository, LeadRepository
from afo_common.messaging.store import Repositories, SqlStore
from afo_common.messaging.unit_of_work import Events, UnitOfWorkFactory


class SqlRepositories(Repositories):
    def __init__(self, session: AsyncSession, events: Events | None = None) -> None:
        super().__init__(events)
        self.agents = AgentRepository(session)
        self.agent_tests = AgentTestRepository(session)
        self.conversations = ConversationRepository(session)
        self.leads = LeadRepository(session)
        self.channels = ChannelRepository(session)
        self.analytics = AnalyticsRepository(session)


def sql_store(units: UnitOfWorkFactory) -> SqlStore[SqlRepositories]:
    return SqlStore(units, SqlRepositories)
