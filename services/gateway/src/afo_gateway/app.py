"""Composition root of the gateway: the public HTTP API in front of the platform."""

from __future__ import annotations

from fastapi.middleware.cors import CORSMiddleware

from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_gateway.adapters.conversation_feed import ConversationFeed
from afo_gateway.adapters.tables import messaging
from afo_gateway.entrypoints.http import accounts_routes, agents_routes, conversations_routes, keys_routes
from afo_gateway.entrypoints.http.dependencies import Gateway
from afo_gateway.entrypoints.http.problems import install_problem_handlers
from afo_gateway.handlers.accounts import Accounts
from afo_gateway.handlers.authentication import Authenticator
from afo_gateway.handlers.catalog import Catalog
from afo_gateway.handlers.keys import Keys
from afo_gateway.handlers.messages import Messages
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.replays import Replays


def build(settings: ServiceSettings | None = None) -> Service:
    settings = settings or ServiceSettings.for_service("gateway")
    service = Service(settings, messaging, "afo_gateway.migrations")
    owners = Owners(service.rpc)
    auth = Authenticator(service.db)
    accounts = Accounts(service.unit_of_work, auth)
    app = service.http
    app.title = "AFO API"
    app.description = "Agents that talk to your leads: conversations, agents, leads and keys."
    app.state.gateway = Gateway(
        accounts=accounts,
        keys=Keys(service.unit_of_work, owners, auth),
        owners=owners,
        messages=Messages(service.unit_of_work, owners, ConversationFeed(service.nats)),
        catalog=Catalog(owners, accounts),
        auth=auth,
        replays=Replays(service.db),
    )
    install_problem_handlers(app)
    # Publishable keys are used from tenants' websites; each key's own origin allow-list is the real check.
    app.add_middleware(CORSMiddleware, allow_origin_regex=r"https?://.*", allow_credentials=False,
                       allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type",
                                                                     "Idempotency-Key"])
    for router in (accounts_routes.router, keys_routes.router, agents_routes.router, conversations_routes.router):
        app.include_router(router)
    return service
