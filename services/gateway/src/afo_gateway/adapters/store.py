"""The gateway's repositories on its database, as its handlers take them (``handlers/unit_of_work.py``):
``uow.accounts``, ``uow.keys``, ``uow.sessions``, ``uow.audit``, ``uow.idempotency``, ``uow.stream_tokens``,
``uow.event_credentials``, ``uow.integrations``, ``uow.oauth_states``, ``uow.plans``, ``uow.usage``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import Repositories, SqlStore
from afo_common.messaging.unit_of_work import Events, UnitOfWorkFactory
from afo_gateway.adapters.accounts_repository import AccountsRepository, AuditLog, KeysRepository, SessionsRepository
from afo_gateway.adapters.dead_letter_actions_repository import DeadLetterActionsRepository
from afo_gateway.adapters.event_credentials_repository import EventCredentialsRepository
from afo_gateway.adapters.idempotency_repository import IdempotencyRepository
from afo_gateway.adapters.inbound_sources_repository import InboundSourcesRepository
from afo_gateway.adapters.integrations_repository import IntegrationsRepository
from afo_gateway.adapters.oauth_states_repository import OAuthStatesRepository
from afo_gateway.adapters.plans_repository import PlansRepository, UsageRepository
from afo_gateway.adapters.stream_tokens_repository import StreamTokensRepository


class SqlRepositories(Repositories):
    def __init__(self, session: AsyncSession, events: Events | None = None) -> None:
        super().__init__(events)
        self.accounts = AccountsRepository(session)
        self.keys = KeysRepository(session)
        self.sessions = SessionsRepository(session)
        self.audit = AuditLog(session)
        self.idempotency = IdempotencyRepository(session)
        self.stream_tokens = StreamTokensRepository(session)
        self.event_credentials = EventCredentialsRepository(session)
        self.integrations = IntegrationsRepository(session)
        self.oauth_states = OAuthStatesRepository(session)
        self.inbound_sources = InboundSourcesRepository(session)
        self.dead_letters = DeadLetterActionsRepository(session)
        self.plans = PlansRepository(session)
        self.usage = UsageRepository(session)


def sql_store(units: UnitOfWorkFactory) -> SqlStore[SqlRepositories]:
    return SqlStore(units, SqlRepositories)
