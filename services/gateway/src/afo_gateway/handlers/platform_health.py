"""The platform's health on the live feed of those who may see it (operators): every ``interval_s`` while one
listens, and at once when one comes and there is none to give, each service is asked its health RPC
(``afo.rpc.<service>.health``: any replica answers, as for ``afo status``) and the answers go out as one
``health`` frame. This gateway answers for itself without asking. A service that does not answer within
``timeout_s`` is reported not ready, with why."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from afo_common.clock import Clock
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.health import HEALTH, SERVICES, HealthReply, HealthRequest
from afo_gateway.domain.live_feed import ServiceHealth, health_frame
from afo_gateway.handlers.tenant_feed import TenantFeed

log = logging.getLogger(__name__)
INTERVAL_S = 5.0
TIMEOUT_S = 1.0


class PlatformHealth:
    def __init__(self, rpc: RpcClient, own: Callable[[], HealthReply], feed: TenantFeed, clock: Clock,
                 interval_s: float = INTERVAL_S, timeout_s: float = TIMEOUT_S) -> None:
        self._rpc = rpc
        self._own = own
        self._feed = feed
        self._clock = clock
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="platform-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def push(self) -> None:
        """One round, to the operators listening now, if any."""
        if self._feed.wants_health():
            self._feed.to_operators(health_frame(await self.check(), self._clock.now()))

    async def check(self) -> list[ServiceHealth]:
        own = self._own()
        others = await asyncio.gather(*(self._ask(service) for service in SERVICES if service != own.service))
        return [ServiceHealth(own.service, own.ready, own.version), *others]

    async def _ask(self, service: str) -> ServiceHealth:
        try:
            reply = await self._rpc.call(HEALTH[service], HealthRequest(), timeout_s=self._timeout_s)
        except RpcError as exc:
            return ServiceHealth(service, ready=False, error=exc.code)
        return ServiceHealth(reply.service, reply.ready, reply.version)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._feed.health_wanted.wait(), self._interval_s)
            self._feed.health_wanted.clear()
            try:
                await self.push()
            except Exception:
                log.exception("platform health: a round failed; the next one is in %.0f s", self._interval_s)
