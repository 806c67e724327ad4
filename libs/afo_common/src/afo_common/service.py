"""The service runner every AFO service is built on: database migrated at start, NATS connected, event
consumers and RPC handlers subscribed through FastStream, the outbox relay running, periodic housekeeping,
and an HTTP app with ``/healthz``, ``/readyz`` and ``/metrics``. SIGTERM drains within a known budget
(``afo_common.drain``): readiness drops, in-flight handlers finish, the outbox is flushed, then
connections close."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as ServerAckPolicy
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import BaseModel
from starlette.types import Scope

from afo_common.body_limit import BodyLimit
from afo_common.db import Database, migrate
from afo_common.drain import NATS_CLOSE_S, DrainingServer
from afo_common.events.streams import ADVISORIES
from afo_common.http_metrics import HttpMetrics
from afo_common.logs import setup_logging
from afo_common.messaging.batches import Batcher, BatchHandler
from afo_common.messaging.connection import NatsConnection, server_urls
from afo_common.messaging.consumer import ConsumerPolicy, ConsumerSpec, Handler, RawMessage
from afo_common.messaging.dead_letters import MaxDeliveriesAdvisories, publish_dead_letter
from afo_common.messaging.inbox import prune_inbox
from afo_common.messaging.outbox_relay import OutboxRelay
from afo_common.messaging.rpc import (
    Req,
    Res,
    RpcClient,
    RpcHandler,
    RpcOperation,
    RpcRoute,
    check_routes,
    serve_request,
)
from afo_common.messaging.streams import DurableSettings, reconcile_consumer
from afo_common.messaging.tables import MessagingTables
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.health import HealthReply, health_operation
from afo_common.settings import ServiceSettings
from afo_common.telemetry import setup_tracing

log = logging.getLogger(__name__)
ADVISORY_RETRY_S = 1.0
PRUNE_INTERVAL_S = 3600.0
CHECKPOINT_INTERVAL_S = 2.0
Hook = Callable[[], Awaitable[None]]


class Service:
    def __init__(self, settings: ServiceSettings, tables: MessagingTables, migrations_package: str,
                 version: str = "0.1.0") -> None:
        self.name = settings.service
        self.settings = settings
        self.version = version
        # permessage-deflate on the service's WebSockets, when the client asks for it.
        self.websocket_compression = True
        self.db = Database(settings.database_url)
        nats_auth = settings.nats_auth()
        self.nats = NatsConnection(settings.nats_url, f"afo-{self.name}", nats_auth)
        self.broker = NatsBroker(
            server_urls(settings.nats_url),
            name=f"afo-{self.name}-subscriber",
            graceful_timeout=settings.drain_timeout_s,
            max_reconnect_attempts=-1,
            drain_timeout=NATS_CLOSE_S,
            logger=logging.getLogger(f"afo.{self.name}.faststream"),
            log_level=logging.DEBUG,
            **nats_auth.broker_options(),
        )
        self.relay = OutboxRelay(self.db, self.nats, self.name)
        self.unit_of_work = UnitOfWorkFactory(self.db, tables, self.name, self.relay.wake)
        self.rpc = RpcClient(self.nats, settings.rpc_timeout_s)
        self._migrations_package = migrations_package
        # False in the worker processes of a multi-process instance: their parent migrated once before them.
        self.migrates = True
        self._consumers: list[ConsumerSpec] = []
        self._subscribers: list[Any] = []
        self._policies: list[ConsumerPolicy] = []
        self._durables: list[DurableSettings] = []
        self._periodic: list[tuple[str, float, Hook]] = []
        self._periodic_tasks: list[asyncio.Task[None]] = []
        self._own_body_routes: list[tuple[str, re.Pattern[str]]] = []
        self._on_start: list[Hook] = []
        self._on_stop: list[Hook] = []
        self.ready = False
        # Set the moment a stop is asked for: long-lived responses (SSE) end, so the drain is not held
        # up by connections that would never close on their own.
        self.draining = asyncio.Event()
        self._stop_consuming: asyncio.Task[None] | None = None
        # HTTP spans only: Prometheus has the metrics, and per-dependency spans cost more than they tell.
        self.http = FastAPI(title=f"afo {self.name}", version=version, lifespan=self._lifespan,
                            telemetry={"metrics": False, "logs": False, "operation_spans": False})
        self._add_operational_routes()
        self.serve_rpc(health_operation(self.name), self._health)
        self._tables = tables
        self.every(PRUNE_INTERVAL_S, self._prune_inbox, "prune-inbox")
        self.every(CHECKPOINT_INTERVAL_S, self.db.hot.checkpoint, "wal-checkpoint")

    # -- wiring ---------------------------------------------------------------------------------------
    def consume(self, spec: ConsumerSpec, handler: Handler) -> None:
        policy = ConsumerPolicy(spec, handler, self.name, self.unit_of_work, self._dead_letter)
        self._policies.append(policy)

        async def on_message() -> None:
            await policy.process(RawMessage(self._current_message()))

        self._durable_subscriber(spec.filter_subject, spec.stream, spec.durable,
                                 max_deliver=spec.max_deliver, ack_wait_s=spec.ack_wait_s,
                                 max_workers=spec.max_workers, on_message=on_message)
        advisories = MaxDeliveriesAdvisories(self.nats, service=self.name, stream=spec.stream,
                                             consumer=spec.durable)

        async def on_advisory() -> None:
            msg = self._current_message()
            try:
                await advisories.handle(msg.raw_message.data)
            except (ValueError, KeyError):
                log.error("malformed MAX_DELIVERIES advisory on %s: dropped", msg.raw_message.subject)
                await msg.reject()
            except Exception:
                log.exception("could not dead-letter after a MAX_DELIVERIES advisory; retrying")
                await msg.nack(delay=ADVISORY_RETRY_S)
            else:
                await msg.ack()

        # Retried until the dead letter is out: giving up here would lose the message for good.
        self._durable_subscriber(advisories.subject, ADVISORIES, advisories.durable, max_deliver=-1,
                                 ack_wait_s=30.0, max_workers=1, on_message=on_advisory)
        self._consumers.append(spec)

    def consume_batched(self, specs: Sequence[ConsumerSpec], handler: BatchHandler) -> None:
        """Several consumers' deliveries handled together in batches (``afo_common.messaging.batches``), each
        delivery still settled by its own consumer's policy."""
        batcher = Batcher(handler, self.unit_of_work)
        for spec in specs:
            self.consume(spec, batcher)

    def _current_message(self) -> NatsMessage:
        # Taken from FastStream's context rather than declared as a handler parameter: a parameter is
        # resolved by its dependency injection, which runs the (synchronous) resolver in a worker thread
        # and a task group for every message — measured, more CPU than the rest of the consumer.
        message: NatsMessage = self.broker.context.get_local("message")
        return message

    def _durable_subscriber(self, subject: str, stream: str, durable: str, *, max_deliver: int,
                            ack_wait_s: float, max_workers: int,
                            on_message: Callable[[], Awaitable[None]]) -> None:
        # A durable push consumer with a deliver group: every replica of the service shares it, the server
        # pushes each message as soon as it is stored (nats-py 2.16's fetch() holds a pull open until a
        # whole batch fills, adding up to a second per message at modest rates). max_ack_pending is what
        # the process works on at once: a message the server pushed beyond that would wait in a buffer,
        # unseen by the heartbeat, and come back after ack_wait while still queued here.
        subscriber = self.broker.subscriber(
            subject,
            # With a queue, nats-py names the durable consumer after it: one consumer, one deliver group.
            queue=durable,
            stream=JStream(stream, declare=False),
            config=ConsumerConfig(
                durable_name=durable,
                deliver_group=durable,
                ack_policy=ServerAckPolicy.EXPLICIT,
                max_deliver=max_deliver,
                ack_wait=ack_wait_s,
                max_ack_pending=max_workers,
            ),
            max_workers=max_workers,
            ack_policy=AckPolicy.MANUAL,
        )
        subscriber(on_message)
        self._subscribers.append(subscriber)
        self._durables.append(DurableSettings(stream, durable, ack_wait_s, max_workers, max_deliver))

    def serve_rpc(self, op: RpcOperation[Req, Res], handler: Callable[[Req], Awaitable[Res]]) -> None:
        subscriber = self.broker.subscriber(op.subject, queue=self.name, no_reply=True, max_workers=32)

        async def on_request() -> None:
            raw = self._current_message().raw_message
            reply = await serve_request(op, handler, raw.data, dict(raw.headers or {}), self.name)
            if raw.reply and reply is not None:
                await raw.respond(reply)

        subscriber(on_request)
        self._subscribers.append(subscriber)

    def serve_rpcs(self, operations: Sequence[RpcOperation[Any, Any]], routes: Sequence[RpcRoute],
                   wrap: Callable[[RpcHandler], RpcHandler] | None = None) -> None:
        """Serve every operation of a contract, each handler through ``wrap`` (which maps the service's domain
        errors to typed RPC errors); refuses to start when the contract has an operation without a handler."""
        check_routes(self.name, operations, routes)
        for op, handler in routes:
            self.serve_rpc(op, wrap(handler) if wrap is not None else handler)

    def on_start(self, hook: Hook) -> None:
        self._on_start.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self._on_stop.append(hook)

    def every(self, interval_s: float, job: Hook, name: str) -> None:
        """Run ``job`` at start and then every ``interval_s`` while the service runs (housekeeping such
        as pruning old rows); a failure is logged and the job runs again at its next turn."""
        self._periodic.append((name, interval_s, job))

    # -- lifecycle ------------------------------------------------------------------------------------
    @asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        if self.migrates:
            await migrate(self.db, self._migrations_package)
        await self.nats.connect()
        for durable in self._durables:
            await reconcile_consumer(self.nats.js, durable)
        await self.broker.start()
        # Every subscription known to the server before the service says it is ready: an RPC sent the moment
        # after would otherwise find no responder.
        await self.broker.connection.flush()
        self.relay.start()
        for hook in self._on_start:
            await hook()
        self._periodic_tasks = [asyncio.create_task(self._run_every(*job), name=f"{self.name}-{job[0]}")
                                for job in self._periodic]
        self.ready = True
        log.info("%s ready", self.name)
        try:
            yield
        finally:
            self.begin_drain()
            # In-flight handlers finish first (they may still need what the stop hooks close), then the
            # outbox is flushed of what they committed.
            assert self._stop_consuming is not None
            await self._stop_consuming
            for task in self._periodic_tasks:
                task.cancel()
            await asyncio.gather(*self._periodic_tasks, return_exceptions=True)
            for hook in self._on_stop:
                await hook()
            await self.relay.stop()
            await self.nats.close()
            await self.db.dispose()
            log.info("%s stopped", self.name)

    def begin_drain(self) -> None:
        """Readiness drops, long-lived responses are told to end and no new delivery or request is taken
        from NATS; what is in flight goes on. Called when the server is asked to stop, before it waits
        for open connections, and again (a no-op) when the lifespan ends."""
        if self.draining.is_set():
            return
        log.info("%s draining", self.name)
        self.ready = False
        self.draining.set()
        self._stop_consuming = asyncio.create_task(self._stop_subscribers(), name=f"{self.name}-stop-consuming")

    async def _stop_subscribers(self) -> None:
        # Interest goes first, so the server hands new messages and requests to the other replicas (or
        # keeps them) instead of to a process about to stop; then in-flight handlers get the drain budget.
        # FastStream would only unsubscribe after that wait, taking deliveries it then drops unhandled.
        for subscriber in self._subscribers:
            subscription, subscriber.subscription = subscriber.subscription, None
            if subscription is not None:
                try:
                    await subscription.unsubscribe()
                except Exception:
                    log.warning("could not unsubscribe %s while draining", subscription, exc_info=True)
        await self.broker.stop()
        for policy in self._policies:
            policy.heartbeat.stop()

    async def _prune_inbox(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.inbox_retention_days)
        if removed := await prune_inbox(self.db, self._tables, cutoff):
            log.info("%s: pruned %d processed event ids older than %s", self.name, removed, cutoff)

    async def _run_every(self, name: str, interval_s: float, job: Hook) -> None:
        while True:
            try:
                await job()
            except Exception:
                log.exception("%s: %s failed; it runs again in %.0f s", self.name, name, interval_s)
            await asyncio.sleep(interval_s)

    async def _dead_letter(self, **kwargs: Any) -> None:
        await publish_dead_letter(self.nats, **kwargs)

    async def _health(self, _request: BaseModel) -> HealthReply:
        return HealthReply(service=self.name, version=self.version, ready=self.ready)

    def _add_operational_routes(self) -> None:
        app = self.http

        @app.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": self.name}

        @app.get("/readyz", include_in_schema=False)
        async def readyz() -> Response:
            ready = self.ready and self.nats.is_connected
            return JSONResponse({"ready": ready, "service": self.name}, status_code=200 if ready else 503)

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(_metrics_registry()), media_type=CONTENT_TYPE_LATEST)

        app.add_middleware(BodyLimit, max_bytes=self.settings.max_body_bytes, exempt=self._reads_own_body)
        app.add_middleware(HttpMetrics, service=self.name)

    def reads_own_body(self, method: str, path: str) -> None:
        """Exempt a route from ``max_body_bytes``: it reads its body itself, within its own limit, while the
        body arrives (an upload). ``path`` is a regular expression matched against the whole path."""
        self._own_body_routes.append((method.upper(), re.compile(path)))

    def _reads_own_body(self, scope: Scope) -> bool:
        return any(scope["method"] == method and pattern.fullmatch(scope["path"])
                   for method, pattern in self._own_body_routes)

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve until SIGTERM; on ``sockets`` already bound (a worker of ``afo_common.workers``), else on the
        configured host and port."""
        setup_logging(self.settings.log_level, self.name, self.settings.log_format)
        setup_tracing(self.name)
        config = uvicorn.Config(
            self.http,
            host=self.settings.http_host,
            port=self.settings.http_port,
            lifespan="on",
            loop="uvloop",
            http="httptools",
            log_level=self.settings.log_level.lower(),
            access_log=False,
            # As JSON, uvicorn's own lines go through the root logger's formatter like every other.
            log_config=None if self.settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
            timeout_graceful_shutdown=int(self.settings.drain_timeout_s),
            proxy_headers=True,
            forwarded_allow_ips=self.settings.forwarded_allow_ips,
            ws_per_message_deflate=self.websocket_compression,
        )
        # Server.run, not asyncio.run(serve()): it is what installs the loop named above (uvloop).
        DrainingServer(config, self.begin_drain).run(sockets)


def _metrics_registry() -> CollectorRegistry:
    """This process's metrics; every worker's, summed or labelled by pid, in a multi-process instance (whose
    parent points ``PROMETHEUS_MULTIPROC_DIR`` at their shared files)."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry

