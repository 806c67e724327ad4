"""Every ``interval_s`` while the soak runs: per service (its whole process group) and per nats-server, resident
memory, open descriptors and CPU from /proc; the JetStream consumer lag (``num_pending + num_ack_pending`` of every
durable consumer, as the admin user reads it through nats-py's JetStream manager); and from each service's
``/metrics`` the outbox's oldest event's age and the operations handled so far (events consumed, RPCs served, HTTP
requests but the operational ones)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx
import nats
from nats.aio.client import Client

from afo_common.messaging.connection import server_urls
from afo_testkit.platform import Platform
from bench.soak_gauges import group_members, group_usage, highest, samples, total

OPERATIONAL_ROUTES = ("/metrics", "/readyz", "/healthz")
HANDLED = {"events": "afo_events_consumed_total", "rpcs": "afo_rpc_requests_total", "http": "afo_http_requests_total"}


@dataclass
class Sample:
    at: float  # seconds since the sampler started
    rss_mib: dict[str, float] = field(default_factory=dict)
    fds: dict[str, int] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    lag: int = 0
    lag_consumer: str = ""
    outbox_age_s: dict[str, float] = field(default_factory=dict)
    handled: dict[str, dict[str, float]] = field(default_factory=dict)  # service → HANDLED key → running total


class Sampler:
    def __init__(self, platform: Platform, interval_s: float) -> None:
        self._platform, self._interval_s = platform, interval_s
        self.samples: list[Sample] = []
        self.started = time.monotonic()
        self._nats: Client | None = None
        self._http = httpx.AsyncClient(timeout=5.0)
        self._task: asyncio.Task[None] | None = None

    def processes(self) -> dict[str, int]:
        """Each service's pid (its process group's id) and each nats-server's."""
        found = {name: pid for name, pid in self._platform.pids.items() if pid is not None}
        servers = self._platform.nats_servers
        for server in servers:
            if server.pid is not None:
                found["nats-server" if len(servers) == 1 else f"nats-{server.name}"] = server.pid
        return found

    async def start(self) -> None:
        self.started = time.monotonic()
        self._nats = await nats.connect(server_urls(self._platform.nats_url),
                                        **self._platform.nats_auth().connect_options())
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.samples.append(await self.sample())
        if self._nats is not None:
            await self._nats.close()
        await self._http.aclose()

    async def _run(self) -> None:
        while True:
            self.samples.append(await self.sample())
            await asyncio.sleep(self._interval_s)

    async def sample(self) -> Sample:
        taken = Sample(time.monotonic() - self.started)
        for name, pid in self.processes().items():
            taken.rss_mib[name], taken.fds[name], taken.cpu_s[name] = group_usage(group_members(pid) or [pid])
        taken.lag, taken.lag_consumer = await self._lag()
        for name, url in self._platform.urls.items():
            with contextlib.suppress(httpx.HTTPError):
                found = samples((await self._http.get(f"{url}/metrics")).text)
                taken.outbox_age_s[name] = highest(found, "afo_outbox_oldest_age_seconds")
                taken.handled[name] = {key: total(found, metric, {"route": OPERATIONAL_ROUTES})
                                       for key, metric in HANDLED.items()}
        return taken

    async def _lag(self) -> tuple[int, str]:
        assert self._nats is not None
        manager = self._nats.jsm()
        worst, worst_name = 0, ""
        for stream in await manager.streams_info():
            name = stream.config.name or ""
            for consumer in await manager.consumers_info(name):
                if not consumer.config.durable_name:
                    continue
                lag = (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
                if lag > worst or not worst_name:
                    worst, worst_name = lag, f"{name}/{consumer.name}"
        return worst, worst_name
