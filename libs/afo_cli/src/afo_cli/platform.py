"""The whole platform on one machine: NATS (ours or given), the JetStream streams, and the services as
supervised child processes. ``afo up`` runs it; e2e tests run it on free ports in a temporary home."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from afo_cli.errors import PlatformError
from afo_cli.nats_admin import ensure_streams_at, jetstream_ready
from afo_cli.nats_auth import CA_VARIABLE, load_credentials, service_environment, write_server_config
from afo_cli.nats_server import NatsServer
from afo_cli.platform_config import PlatformConfig
from afo_cli.ports import LOCALHOST, free_port, port_is_free
from afo_cli.processes import rotate_log
from afo_cli.run_state import RunState, ServiceState, pid_alive, read_state, remove_state, write_state
from afo_cli.service_slot import ServiceSlot
from afo_cli.services import GATEWAY, port_variable
from afo_cli.smtp_sink import SmtpSink
from afo_cli.vault_keys import VARIABLE as VAULT_KEY_VARIABLE
from afo_cli.vault_keys import ensure_key
from afo_common.nats_security.client import NatsAuth
from afo_common.nats_security.credentials import NatsCredentials
from afo_common.nats_security.server_config import ClusterNode, ServerTls

log = logging.getLogger("afo.platform")
NOTIFIER = "notifier"
SMTP_RELAY_VARIABLE = "AFO_SMTP_RELAY_PORT"  # an explicit one (a real relay) is kept
SUPERVISE_POLL_S = 0.2

__all__ = ["Platform", "PlatformConfig", "PlatformError"]


class Platform:
    def __init__(self, config: PlatformConfig, report: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._report = report or log.warning
        self._nats_servers: list[NatsServer] = []
        self._nats_url = config.nats_url
        self._services: dict[str, ServiceSlot] = {}
        self._replicas: list[ServiceSlot] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._recoveries: dict[str, asyncio.Task[None]] = {}
        self._started_at: str | None = None
        self._credentials: NatsCredentials | None = None
        # The local SMTP relay notifier sends email to when a tenant has no SMTP credentials of its own.
        self.smtp_sink: SmtpSink | None = None

    # -- what is running where ------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.config.home

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def nats_url(self) -> str:
        if self._nats_url is None:
            raise PlatformError("NATS is not started")
        return self._nats_url

    @property
    def nats_credentials(self) -> NatsCredentials:
        """Every NATS user's seed (``$AFO_HOME/nats/credentials.json``), created at the first start."""
        if self._credentials is None:
            self._credentials = load_credentials(self.home)
        return self._credentials

    def nats_auth(self, user: str = "admin") -> NatsAuth:
        """How to connect as ``user`` (the admin by default): ``nats.connect(p.nats_url, **p.nats_auth().
        connect_options())``."""
        tls = self.config.nats_tls
        return NatsAuth(user=user, nkey_seed=self.nats_credentials.seed(user),
                        tls_ca_file=tls.ca_file if tls else None)

    @property
    def nats_pid(self) -> int | None:
        """The (first) nats-server we started, or None when using a given NATS."""
        return self._nats_servers[0].pid if self._nats_servers else None

    @property
    def nats_servers(self) -> list[NatsServer]:
        """The nats-servers we started: one, or a cluster's three (``nats_nodes``)."""
        return list(self._nats_servers)

    @property
    def ports(self) -> dict[str, int]:
        return {name: svc.port for name, svc in self._services.items()}

    @property
    def urls(self) -> dict[str, str]:
        return {name: svc.url for name, svc in self._services.items()}

    @property
    def gateway_url(self) -> str:
        return self.urls.get(GATEWAY, f"http://{LOCALHOST}:{self.config.gateway_port}")

    @property
    def api_url(self) -> str:
        return f"{self.gateway_url}/v1"

    @property
    def pids(self) -> dict[str, int | None]:
        """Each service's pid, None when it is not running."""
        return {name: svc.pid for name, svc in self._services.items()}

    @property
    def given_up(self) -> tuple[str, ...]:
        """Services the supervisor stopped restarting because they crashed too often."""
        return tuple(name for name, svc in self._services.items() if svc.gave_up)

    def log_path(self, service: str) -> Path:
        return self.logs_dir / f"{service}.log"

    def log_tail(self, service: str, lines: int = 30) -> str:
        return self._service(service).log_tail(lines)

    # -- whole platform -------------------------------------------------------------------------------
    async def start(self) -> None:
        """NATS, streams, every service ready, state file written; on any failure everything that was
        started is stopped again and PlatformError says which part failed and why."""
        self._refuse_second_run()
        try:
            await self._start_nats()
            if NOTIFIER in self.config.services:
                self.smtp_sink = SmtpSink(self.home / "mail")
                await self.smtp_sink.start()
            await ensure_streams_at(self.nats_url, self.config.stream_replicas, self.nats_auth())
            self._assign_ports()
            for name in self._services:
                rotate_log(self.log_path(name))
            starting = [asyncio.create_task(self.start_service(name)) for name in self._services]
            try:
                await asyncio.gather(*starting)
            finally:
                for task in starting:  # the first failure decides; the others need not keep waiting
                    task.cancel()
        except BaseException:
            await self.stop()
            raise
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._write_state()
        if self.config.supervise:
            self._supervisor = asyncio.create_task(self._supervise(), name="afo-supervisor")

    async def stop(self) -> None:
        """SIGTERM every service, SIGKILL those still draining after ``stop_timeout_s``, NATS last (the
        services flush their outboxes into it while draining). Safe to call more than once."""
        tasks = [t for t in (self._supervisor, *self._recoveries.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._supervisor = None
        for svc in self._services.values():
            svc.wanted = False
        slots = [*self._replicas, *self._services.values()]
        await asyncio.gather(*(svc.terminate(self.config.stop_timeout_s) for svc in slots))
        self._replicas.clear()
        if self.smtp_sink is not None:
            await self.smtp_sink.stop()
            self.smtp_sink = None
        if self._nats_servers:
            await asyncio.gather(*(server.stop() for server in self._nats_servers))
            self._nats_servers, self._nats_url = [], self.config.nats_url
        state = read_state(self.home)
        if state is not None and state.supervisor_pid == os.getpid():
            remove_state(self.home)
        self._started_at = None

    async def __aenter__(self) -> Platform:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- one service ----------------------------------------------------------------------------------
    async def start_service(self, service: str) -> None:
        """Start the service unless it runs, and wait until it is ready."""
        svc = self._service(service)
        async with svc.lock:
            await self._ensure_running(svc)

    async def stop_service(self, service: str) -> None:
        svc = self._service(service)
        async with svc.lock:
            svc.wanted = False
            await svc.terminate(self.config.stop_timeout_s)
            self._write_state()

    async def restart(self, service: str) -> None:
        """Graceful stop (SIGTERM, drain) then start and wait until ready, on the same port."""
        svc = self._service(service)
        async with svc.lock:
            svc.wanted = False
            await svc.terminate(self.config.stop_timeout_s)
            await self._ensure_running(svc)

    async def start_replica(self, service: str) -> ServiceSlot:
        """Another process of ``service`` beside the first: the same environment (database, NATS), its own
        HTTP port and log, ready when this returns; not supervised, stopped with the platform."""
        primary = self._service(service)
        slot = ServiceSlot(service, free_port(), self.logs_dir / f"{service}-{len(self._replicas) + 2}.log")
        rotate_log(slot.log_path)
        environment = self._environment(primary)
        environment[port_variable(service)] = str(slot.port)
        slot.spawn(environment)
        self._replicas.append(slot)
        await slot.wait_ready(self.config.ready_timeout_s)
        return slot

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        """Signal the service's process group. With supervision on, the exit counts as a crash."""
        process = self._service(service).process
        if process is not None:
            process.send_signal(sig)

    async def wait_ready(self, service: str, timeout_s: float | None = None) -> None:
        """Until ``GET /readyz`` answers 200; PlatformError with the log tail if the process exits first
        or the timeout passes."""
        timeout_s = self.config.ready_timeout_s if timeout_s is None else timeout_s
        await self._service(service).wait_ready(timeout_s)

    # -- internals ------------------------------------------------------------------------------------
    def _service(self, service: str) -> ServiceSlot:
        try:
            return self._services[service]
        except KeyError:
            raise PlatformError(f"{service} is not part of this platform run") from None

    def _refuse_second_run(self) -> None:
        state = read_state(self.home)
        if state is not None and state.supervisor_pid != os.getpid() and pid_alive(state.supervisor_pid):
            raise PlatformError(
                f"AFO is already running from {self.home} (supervisor pid {state.supervisor_pid}): "
                "run `afo down` first, or set AFO_HOME to another folder"
            )
        if state is not None and any(pid_alive(pid) for pid in state.process_ids()):
            # A supervisor that was killed leaves its children running, holding the ports.
            raise PlatformError(
                f"a previous run from {self.home} (supervisor pid {state.supervisor_pid}) ended without "
                "stopping its processes: run `afo down` to stop them"
            )
        gateway_port = self.config.gateway_port
        if GATEWAY in self.config.services and not port_is_free(gateway_port):
            raise PlatformError(f"port {gateway_port} is in use: set AFO_HTTP_PORT to a free port")

    async def _start_nats(self) -> None:
        if self._nats_url is not None:
            return
        tls = self.config.nats_tls
        if self.config.nats_nodes == 1:
            config = write_server_config(self.home, self.nats_credentials, LOCALHOST, self.config.nats_port, tls)
            self._nats_servers = [NatsServer(self.home / "nats", self.config.nats_port, self.logs_dir / "nats.log",
                                             config_path=config, tls=tls is not None)]
        else:
            self._nats_servers = self._cluster(tls)
        # Each node of a cluster accepts connections before the others are up; JetStream waits for them all.
        await asyncio.gather(*(server.start() for server in self._nats_servers))
        self._nats_url = ",".join(server.url for server in self._nats_servers)
        if len(self._nats_servers) > 1:
            await jetstream_ready(self._nats_url, self.nats_auth())

    def _cluster(self, tls: ServerTls | None) -> list[NatsServer]:
        """``nats_nodes`` nats-servers routed to one another (a JetStream cluster named afo), the first on
        ``nats_port``, the others and the routes on free ports."""
        ports = [self.config.nats_port]
        while len(ports) < 2 * self.config.nats_nodes:
            if (port := free_port()) not in ports and port != self.config.gateway_port:
                ports.append(port)
        clients, route_ports = ports[:self.config.nats_nodes], ports[self.config.nats_nodes:]
        routes = tuple(f"nats://{LOCALHOST}:{port}" for port in route_ports)
        servers = []
        for number, (client, route) in enumerate(zip(clients, route_ports, strict=True), start=1):
            node = ClusterNode(f"n{number}", route, routes)
            config = write_server_config(self.home, self.nats_credentials, LOCALHOST, client, tls, node)
            servers.append(NatsServer(config.parent, client, self.logs_dir / f"nats-{node.server_name}.log",
                                      config_path=config, tls=tls is not None))
        return servers

    def _assign_ports(self) -> None:
        taken = {self.config.gateway_port}
        for name in self.config.services:
            port = self.config.gateway_port if name == GATEWAY else free_port()
            while name != GATEWAY and port in taken:
                port = free_port()
            taken.add(port)
            self._services[name] = ServiceSlot(name, port, self.log_path(name))

    def _environment(self, svc: ServiceSlot) -> dict[str, str]:
        env = {"AFO_HTTP_HOST": LOCALHOST, **os.environ, **self.config.env}
        env.update(
            AFO_HOME=str(self.home),
            AFO_NATS_URL=self.nats_url,
            AFO_LOG_LEVEL=self.config.log_level,
            PYTHONUNBUFFERED="1",  # so the log shows what happened right before a crash
        )
        env[port_variable(svc.name)] = str(svc.port)
        env.update(service_environment(self.nats_credentials, svc.name))
        # The credential vault's keys are the gateway's alone.
        env.pop(VAULT_KEY_VARIABLE, None)
        if svc.name == GATEWAY:
            env[VAULT_KEY_VARIABLE] = ensure_key(self.home, {**os.environ, **self.config.env})
        if svc.name == NOTIFIER and self.smtp_sink is not None:
            env.setdefault(SMTP_RELAY_VARIABLE, str(self.smtp_sink.port))
        if self.config.nats_tls is not None and self.config.nats_tls.ca_file is not None:
            env[CA_VARIABLE] = str(self.config.nats_tls.ca_file)
        return env

    async def _ensure_running(self, svc: ServiceSlot) -> None:
        svc.spawn(self._environment(svc))
        svc.wanted = True
        svc.gave_up = False
        await svc.wait_ready(self.config.ready_timeout_s)
        if self._started_at is not None:
            self._write_state()

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(SUPERVISE_POLL_S)
            for name, svc in self._services.items():
                if svc.crashed and name not in self._recoveries and not svc.lock.locked():
                    self._recoveries[name] = asyncio.create_task(self._recover(svc), name=f"afo-recover-{name}")

    async def _recover(self, svc: ServiceSlot) -> None:
        try:
            async with svc.lock:
                process = svc.process
                if not svc.wanted or process is None or process.is_running:
                    return  # stopped or restarted on purpose meanwhile
                how = process.exit_description()
                delay = svc.crashes.record()
                if delay is None:
                    svc.wanted, svc.gave_up = False, True
                    self._write_state()
                    self._report(
                        f"{svc.name} {how}; it crashed {svc.crashes.recent} times within "
                        f"{svc.crashes.window_s:.0f} s, giving up on it; {svc.tail_text()}"
                    )
                    return
                self._report(f"{svc.name} {how}; restarting it in {delay:.1f} s")
                await asyncio.sleep(delay)
                try:
                    await self._ensure_running(svc)
                    self._report(f"{svc.name} restarted (pid {svc.pid})")
                except PlatformError as exc:
                    self._report(str(exc))
                    if svc.process is not None:  # not ready in time: make it the next crash
                        svc.process.send_signal(signal.SIGKILL)
                        await svc.process.wait(5.0)
        finally:
            self._recoveries.pop(svc.name, None)

    def _write_state(self) -> None:
        if self._started_at is None:
            return
        services = {
            name: ServiceState(pid=svc.pid, port=svc.port, url=svc.url, log=str(svc.log_path))
            for name, svc in self._services.items()
        }
        write_state(
            self.home,
            RunState(
                supervisor_pid=os.getpid(),
                home=str(self.home),
                nats_url=self.nats_url,
                nats_pids=[server.pid for server in self._nats_servers if server.pid is not None],
                gateway_url=self.gateway_url if GATEWAY in self._services else "",
                started_at=self._started_at,
                services=services,
            ),
        )
