"""The service runner every AFO service is built on: database migrated at start, NATS connected, event
consumers and RPC handlers subscribed through FastStream, the outbox relay running, and an HTTP app
with ``/healthz``, ``/readyz`` and ``/metrics``. SIGTERM drains: readiness drops, in-flight handlers
finish, the outbox is flushed, then connections close."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as ServerAckPolicy
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from afo_common.body_limit import BodyLimit
from afo_common.db import Database, migrate
from afo_common.http_metrics import HttpMetrics
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.consumer import ConsumerPolicy, ConsumerSpec, Handler, RawMessage
from afo_common.messaging.dead_letters import publish_dead_letter, watch_max_deliveries
from afo_common.messaging.outbox_relay import OutboxRelay
from afo_common.messaging.rpc import Req, Res, RpcClient, RpcOperation, serve_request
from afo_common.messaging.tables import MessagingTables
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.health import HealthReply, health_operation
from afo_common.settings import ServiceSettings
from afo_common.subjects import events_of_kind
from afo_common.telemetry import setup_logging, setup_tracing

log = logging.getLogger(__name__)
Hook = Callable[[], Awaitable[None]]


class Service:
    def __init__(self, settings: ServiceSettings, tables: MessagingTables, migrations_package: str,
                 version: str = "0.1.0") -> None:
        self.name = settings.service
        self.settings = settings
        self.version = version
        self.db = Database(settings.database_url)
        nats_auth = settings.nats_auth()
        self.nats = NatsConnection(settings.nats_url, f"afo-{self.name}", nats_auth)
        self.broker = NatsBroker(
            settings.nats_url,
            name=f"afo-{self.name}-subscriber",
            graceful_timeout=settings.drain_timeout_s,
            max_reconnect_attempts=-1,
            logger=logging.getLogger(f"afo.{self.name}.faststream"),
            log_level=logging.DEBUG,
            **nats_auth.broker_options(),
        )
        self.relay = OutboxRelay(self.db, tables, self.nats, self.name)
        self.unit_of_work = UnitOfWorkFactory(self.db, tables, self.name, self.relay.wake)
        self.rpc = RpcClient(self.nats, settings.rpc_timeout_s)
        self._migrations_package = migrations_package
        self._consumers: list[ConsumerSpec] = []
        self._subscribers: list[Any] = []
        self._periodic: list[tuple[str, float, Hook]] = []
        self._periodic_tasks: list[asyncio.Task[None]] = []
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

    # -- wiring ---------------------------------------------------------------------------------------
    def consume(self, spec: ConsumerSpec, handler: Handler) -> None:
        policy = ConsumerPolicy(spec, handler, self.name, self.unit_of_work, self._dead_letter)
        # A durable push consumer with a deliver group: every replica of the service shares it, the server
        # pushes each message as soon as it is stored (nats-py 2.16's fetch() holds a pull open until a
        # whole batch fills, adding up to a second per message at modest rates), and max_ack_pending
        # bounds what is in flight. Acks stay explicit; redelivery, backoff and max_deliver are the same.
        subscriber = self.broker.subscriber(
            events_of_kind(spec.event.event_name),
            # With a queue, nats-py names the durable consumer after it: one consumer, one deliver group.
            queue=spec.durable,
            stream=JStream(spec.stream, declare=False),
            config=ConsumerConfig(
                durable_name=spec.durable,
                deliver_group=spec.durable,
                ack_policy=ServerAckPolicy.EXPLICIT,
                max_deliver=spec.max_deliver,
                ack_wait=spec.ack_wait_s,
                max_ack_pending=spec.max_workers * 4,
            ),
            max_workers=spec.max_workers,
            ack_policy=AckPolicy.MANUAL,
        )

        async def on_message(msg: NatsMessage) -> None:
            await policy.process(RawMessage(msg))

        subscriber(on_message)
        self._subscribers.append(subscriber)
        self._consumers.append(spec)

    def serve_rpc(self, op: RpcOperation[Req, Res], handler: Callable[[Req], Awaitable[Res]]) -> None:
        subscriber = self.broker.subscriber(op.subject, queue=self.name, no_reply=True, max_workers=32)

        async def on_request(msg: NatsMessage) -> None:
            raw = msg.raw_message
            reply = await serve_request(op, handler, raw.data, dict(raw.headers or {}), self.name)
            if raw.reply:
                await raw.respond(reply)

        subscriber(on_request)
        self._subscribers.append(subscriber)

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
        await migrate(self.db, self._migrations_package)
        await self.nats.connect()
        await self.broker.start()
        for spec in self._consumers:
            await watch_max_deliveries(self.nats, service=self.name, stream=spec.stream, consumer=spec.durable)
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
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        app.add_middleware(BodyLimit, max_bytes=self.settings.max_body_bytes)
        app.add_middleware(HttpMetrics, service=self.name)

    def run(self) -> None:
        setup_logging(self.settings.log_level, self.name)
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
            timeout_graceful_shutdown=int(self.settings.drain_timeout_s),
            proxy_headers=True,
            forwarded_allow_ips=self.settings.forwarded_allow_ips,
        )
        asyncio.run(_DrainingServer(config, self.begin_drain).serve())


class _DrainingServer(uvicorn.Server):
    """uvicorn waits for open connections before the app's shutdown runs; the drain starts first, so
    SSE streams end and deliveries stop at once instead of after the HTTP grace period."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)

