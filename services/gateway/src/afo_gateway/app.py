"""Composition root of the gateway: the public HTTP API in front of the platform."""

from __future__ import annotations

from dataclasses import replace

from argon2 import PasswordHasher
from fastapi.middleware.cors import CORSMiddleware

from afo_common.clock import Clock, SystemClock
from afo_common.conversation_feed import ConversationFeed
from afo_common.events.streams import RECORDINGS_BUCKET
from afo_common.messaging.blobs import BlobStore
from afo_common.nats_security.permissions import KICKER
from afo_common.rpcs.health import SERVICES, HealthReply
from afo_common.service import Service
from afo_gateway.adapters.google_tokens import GoogleTokens
from afo_gateway.adapters.jetstream_admin import JetStreamAdmin
from afo_gateway.adapters.nats_kicker import NatsKicker
from afo_gateway.adapters.page_fetcher import PageFetcher
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.adapters.plans_repository import HotMessageCounts
from afo_gateway.adapters.provider_probes import ProviderProbes
from afo_gateway.adapters.rate_limits import Limit
from afo_gateway.adapters.store import sql_store
from afo_gateway.adapters.tables import messaging
from afo_gateway.console.mount import install_console
from afo_gateway.domain.google_oauth import OAuthClient
from afo_gateway.domain.vault import Keyring
from afo_gateway.entrypoints.access_events import AccessEvents
from afo_gateway.entrypoints.http import (
    accounts_routes,
    admin_routes,
    agent_tests_routes,
    agents_routes,
    analytics_routes,
    anomalies_routes,
    audit_routes,
    calendars_routes,
    calls_routes,
    conversations_routes,
    crm_routes,
    event_credentials_routes,
    inbound_routes,
    integrations_routes,
    keys_routes,
    knowledge_routes,
    meetings_routes,
    notifications_routes,
    plans_routes,
    realtime_routes,
    twilio_routes,
    webhooks_routes,
    widget_routes,
    workflows_routes,
)
from afo_gateway.entrypoints.http.dependencies import Gateway
from afo_gateway.entrypoints.http.openapi import install_openapi
from afo_gateway.entrypoints.http.problems import install_problem_handlers
from afo_gateway.entrypoints.live_events import LiveEvents
from afo_gateway.entrypoints.nats_callout import AuthCallout
from afo_gateway.entrypoints.operators_rpc import register_operators_rpc
from afo_gateway.entrypoints.plan_events import PlanEvents
from afo_gateway.entrypoints.rpc import register_rpc
from afo_gateway.entrypoints.usage_consumers import register_usage
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts
from afo_gateway.handlers.agent_tests import AgentTests
from afo_gateway.handlers.analytics import Analytics
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.authentication import Authenticator
from afo_gateway.handlers.calls import Calls
from afo_gateway.handlers.catalog import Catalog
from afo_gateway.handlers.dead_letters import DeadLetters
from afo_gateway.handlers.documents import Documents
from afo_gateway.handlers.event_credentials import EventCredentials
from afo_gateway.handlers.google_connect import GoogleConnect
from afo_gateway.handlers.inbound_sources import InboundSources
from afo_gateway.handlers.integrations import Integrations
from afo_gateway.handlers.keys import Keys
from afo_gateway.handlers.knowledge import KnowledgeBases
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.meetings import Meetings
from afo_gateway.handlers.messages import Messages
from afo_gateway.handlers.metering import Metering
from afo_gateway.handlers.notifications import Notifications
from afo_gateway.handlers.operators import Operators
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.phone_numbers import PhoneNumbers
from afo_gateway.handlers.plans import Plans
from afo_gateway.handlers.platform_admin import PlatformAdmin
from afo_gateway.handlers.platform_health import PlatformHealth
from afo_gateway.handlers.quotas import PlanBook, Quotas
from afo_gateway.handlers.replays import Replays
from afo_gateway.handlers.stream_tokens import StreamTokens
from afo_gateway.handlers.tenant_feed import TenantFeed
from afo_gateway.handlers.throttle import Limits, Throttle
from afo_gateway.handlers.twilio_webhooks import TwilioWebhooks
from afo_gateway.handlers.unit_of_work import Store
from afo_gateway.handlers.webhooks import Webhooks
from afo_gateway.handlers.widget import Widget
from afo_gateway.settings import GatewaySettings
from afo_gateway.widget import WidgetScript


def limits(settings: GatewaySettings) -> Limits:
    return Limits(
        login_per_ip=Limit("login-ip", settings.rate_limit_login_per_ip, "moving-window"),
        login_per_email=Limit("login-email", settings.rate_limit_login_per_email, "moving-window"),
        signup_per_ip=Limit("signup-ip", settings.rate_limit_signup_per_ip, "moving-window"),
        signup_per_email=Limit("signup-email", settings.rate_limit_signup_per_email, "moving-window"),
        api_per_principal=Limit("api", settings.rate_limit_api_per_principal, "sliding-window-counter"),
    )


def build(settings: GatewaySettings | None = None) -> Service:
    settings = settings or GatewaySettings.for_service("gateway")  # type: ignore[assignment]
    assert isinstance(settings, GatewaySettings)
    service = Service(settings, messaging, "afo_gateway.migrations")
    owners = Owners(service.rpc)
    store, clock = sql_store(service.unit_of_work), SystemClock()
    auth = Authenticator(store, clock)
    streams = LiveStreams(service.draining)
    feed = ConversationFeed(service.nats)
    tenant_feed = TenantFeed(streams, settings.realtime_backlog)
    live_events = LiveEvents(service.nats, tenant_feed)
    health = PlatformHealth(service.rpc, lambda: HealthReply(service=service.name, version=service.version,
                                                             ready=service.ready), tenant_feed, clock)
    for part in (feed, streams, live_events, health):
        service.on_start(part.start)
        service.on_stop(part.stop)
    access = AccessChanges(auth, streams)
    passwords = Passwords(settings.password_hashing_concurrency,
                          PasswordHasher(time_cost=settings.password_hash_time_cost,
                                         memory_cost=settings.password_hash_memory_kib,
                                         parallelism=settings.password_hash_parallelism))
    quotas, plans = plans_and_usage(service, settings, store, owners, clock)
    accounts = Accounts(store, passwords, access, clock, settings.default_plan)
    stream_tokens = StreamTokens(store, owners, auth, settings.stream_token_ttl_s, clock)
    replays = Replays(store, ttl_s=settings.idempotency_ttl_s, wait_s=settings.idempotency_wait_s,
                      lease_s=settings.idempotency_lease_s, clock=clock)
    audit = AuditTrail(store, clock)
    knowledge = KnowledgeBases(owners, audit)
    keyring = Keyring.from_setting(settings.vault_key.get_secret_value()) if settings.vault_key else None
    integrations = Integrations(store, keyring, clock, ProviderProbes(settings.twilio_api_base_url))
    google = GoogleConnect(store, integrations, GoogleTokens(settings.google_oauth_base_url), clock,
                           google_client(settings), settings.google_consent_url)
    register_rpc(service, integrations)
    register_operators_rpc(service, Operators(store, passwords, access, clock))
    jetstream = JetStreamAdmin(service.nats, clock)
    fetcher = PageFetcher(max_bytes=settings.max_upload_bytes, timeout_s=settings.fetch_timeout_s,
                          allow_private=settings.fetch_allow_private)
    # The realtime feed writes each event to every client of a tenant, compressed once per client when
    # permessage-deflate is on: measured (bench/realtime_fanout.py, 1,000 clients, 200 events/s, 50 per
    # tenant) p95 152 ms with it, 6 ms without. Its frames are small JSON; bandwidth saved is little.
    service.websocket_compression = False
    app = service.http
    app.title = "AFO API"
    app.state.public_url = settings.public_url
    app.state.realtime_close_wait_s = settings.realtime_close_wait_s
    app.state.widget_script = WidgetScript.load()
    app.description = "Agents that talk to your leads: conversations, agents, knowledge bases, leads and keys."
    service.reads_own_body("POST", knowledge_routes.DOCUMENTS_PATH)
    app.state.gateway = Gateway(
        accounts=accounts,
        keys=Keys(store, owners, access, clock),
        owners=owners,
        messages=Messages(service.unit_of_work, owners, feed, clock, quotas),
        catalog=Catalog(owners, accounts, knowledge, quotas, audit),
        auth=auth,
        replays=replays,
        throttle=Throttle(limits(settings), quotas.book),
        stream_tokens=stream_tokens,
        streams=streams,
        feed=tenant_feed,
        event_credentials=integrator_access(service, settings, store, clock),
        integrations=integrations,
        knowledge=knowledge,
        documents=Documents(owners, BlobStore(service.nats), fetcher, quotas, audit),
        meetings=Meetings(owners, audit),
        notifications=Notifications(owners),
        calls=Calls(owners, BlobStore(service.nats, RECORDINGS_BUCKET)),
        webhooks=Webhooks(owners, audit),
        phone_numbers=PhoneNumbers(owners, audit),
        twilio=TwilioWebhooks(owners, integrations, service.unit_of_work, clock, quotas),
        inbound=InboundSources(store, owners, integrations, clock),
        widget=Widget(store, owners),
        analytics=Analytics(owners, clock, store),
        agent_tests=AgentTests(owners, audit, settings.agent_tests_run_wait_s),
        audit=audit,
        plans=plans,
        admin=PlatformAdmin(store, jetstream, health, owners, clock),
        dead_letters=DeadLetters(store, jetstream, clock, SERVICES),
        max_upload_bytes=settings.max_upload_bytes,
        google=google,
        google_redirect_uri=settings.google_redirect_uri,
    )
    access_events = AccessEvents(service.nats, access)
    service.on_start(access_events.start)
    service.on_stop(access_events.stop)
    service.every(settings.purge_interval_s, replays.purge, "purge-idempotency-records")
    service.every(settings.purge_interval_s, accounts.purge_sessions, "purge-sessions")
    service.every(settings.purge_interval_s, stream_tokens.purge, "purge-stream-tokens")
    service.every(settings.purge_interval_s, google.purge, "purge-oauth-states")
    # After `afo vault rotate` (and a restart with the new key first): records under older keys sealed again.
    service.every(settings.vault_reseal_interval_s, integrations.reseal, "reseal-vault-records")
    install_problem_handlers(app)
    install_openapi(app)
    # Publishable keys are used from tenants' websites; each key's own origin allow-list is the real check.
    app.add_middleware(CORSMiddleware, allow_origin_regex=r"https?://.*", allow_credentials=False,
                       allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type",
                                                                     "Idempotency-Key"],
                       expose_headers=["Retry-After", "Idempotent-Replayed"])
    for router in (accounts_routes.router, keys_routes.router, agents_routes.router, conversations_routes.router,
                   event_credentials_routes.router, integrations_routes.router, knowledge_routes.router,
                   crm_routes.router, calendars_routes.router, meetings_routes.router,
                   notifications_routes.router, calls_routes.router, webhooks_routes.router, workflows_routes.router,
                   twilio_routes.router, inbound_routes.router, widget_routes.router,
                   realtime_routes.router, analytics_routes.router, agent_tests_routes.router,
                   anomalies_routes.router, admin_routes.router, plans_routes.router, audit_routes.router):
        app.include_router(router)
    install_console(app)
    return service


def plans_and_usage(service: Service, settings: GatewaySettings, store: Store, owners: Owners,
                    clock: Clock) -> tuple[Quotas, Plans]:
    """Plans (each replica's copy of its tenants' plans, forgotten when ``tenant.plan_changed`` is heard), the checks
    of what a plan allows, and usage metered from events into the gateway's own counters."""
    book = PlanBook(store, settings.default_plan)
    plans = Plans(store, book, owners, clock)
    events = PlanEvents(service.nats, book)
    service.on_start(events.start)
    service.on_stop(events.stop)
    register_usage(service, Metering(store), plans, settings.purge_interval_s)
    return Quotas(book, owners, HotMessageCounts(service.db), clock), plans


def google_client(settings: GatewaySettings) -> OAuthClient | None:
    """The platform's Google OAuth client, when both halves are set."""
    if settings.google_client_id and settings.google_client_secret:
        return OAuthClient(settings.google_client_id, settings.google_client_secret.get_secret_value())
    return None


def integrator_access(service: Service, settings: GatewaySettings, store: Store, clock: Clock) -> EventCredentials:
    """Integrators' NATS credentials: the auth callout that admits them (with the callout issuer's seed) and
    the system-account connection that cuts off a revoked one at once (with the system user's seed)."""
    service.http.state.nats_public_url = settings.nats_public_url or settings.nats_url
    kicker = None
    if settings.nats_system_nkey_seed is not None:
        auth = replace(settings.nats_auth(KICKER), nkey_seed=settings.nats_system_nkey_seed.get_secret_value())
        kicker = NatsKicker(settings.nats_url, auth)
        service.on_start(kicker.start)
        service.on_stop(kicker.stop)
    credentials = EventCredentials(store, clock, kicker)
    if settings.nats_callout_issuer_seed is not None:
        callout = AuthCallout(service.nats, credentials, settings.nats_callout_issuer_seed.get_secret_value(),
                              settings.event_credential_ttl_s)
        service.on_start(callout.start)
        service.on_stop(callout.stop)
    return credentials
