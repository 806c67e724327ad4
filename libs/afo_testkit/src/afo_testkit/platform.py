"""The real platform for e2e tests: NATS and service processes on free ports in a temporary home.

    async with running_platform(tmp_path, services=("gateway", "agent-runtime")) as platform:
        httpx.post(f"{platform.api_url}/signup", ...)

Stopped on exit whatever happened inside, so a failing test leaves no process behind.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from afo_cli.platform import Platform, PlatformConfig
from afo_cli.ports import free_port
from afo_cli.services import SERVICES
from afo_testkit.passwords import CHEAP_PASSWORD_HASHING
from afo_testkit.stores import migrated_sqlite

__all__ = ["Platform", "free_port", "permission_violations", "running_platform"]

# The offline recogniser's words for a turn can take tens of seconds on a loaded test machine (three test workers'
# platforms on two cores); a call's turn then counts as unheard after 10 s. Tests check what is said, not how fast
# (bench/ measures that), so they wait as long as a test waits for anything.
SLOW_MACHINE_ALLOWANCES = {"AFO_VOICE_TRANSCRIPT_WAIT_S": "60"}


@asynccontextmanager
async def running_platform(
    tmp_path: Path,
    *,
    services: Sequence[str] = SERVICES,
    supervise: bool = True,
    ready_timeout_s: float = 90.0,
    stop_timeout_s: float = 30.0,
    log_level: str = "INFO",
    nats_nodes: int = 1,
    environment: Mapping[str, str] | None = None,
    **env: str,
) -> AsyncIterator[Platform]:
    """Start ``services`` (all by default) with their own nats-server; ``environment`` and ``env`` add
    variables to every service, e.g. ``AFO_WEBHOOK_ALLOW_PRIVATE="1"``. New tenants start on the unlimited
    enterprise plan unless ``AFO_DEFAULT_PLAN`` says otherwise: a test about plans puts its tenant on one. Passwords
    are hashed at Argon2id's lowest cost (``afo_testkit.passwords``): at the production cost each sign-up and login
    takes a core for a sixth of a second, which is the point in production and not in these tests. Each service's
    default SQLite database is laid down already migrated (a copy, ``afo_testkit.stores``): a new home's first
    migration is tested by ``afo up``'s own tests, and costs each start here a second of a core."""
    nats_port = free_port()
    gateway_port = free_port()
    while gateway_port == nats_port:
        gateway_port = free_port()
    config = PlatformConfig(
        home=tmp_path / "afo",
        nats_port=nats_port,
        gateway_port=gateway_port,
        log_level=log_level,
        nats_nodes=nats_nodes,
        env={"AFO_DEFAULT_PLAN": "enterprise", **CHEAP_PASSWORD_HASHING, **SLOW_MACHINE_ALLOWANCES,
             **(environment or {}), **env},
        services=tuple(services),
        supervise=supervise,
        ready_timeout_s=ready_timeout_s,
        stop_timeout_s=stop_timeout_s,
    )
    variables = {**os.environ, **config.env}
    for service in services:
        if f"AFO_{service.upper().replace('-', '_')}_DATABASE_URL" not in variables:
            await migrated_sqlite(config.home / f"{service}.db", f"afo_{service.replace('-', '_')}.migrations")
    platform = Platform(config)
    await platform.start()  # stops what it started itself when it fails
    try:
        yield platform
    finally:
        await platform.stop()
    # Every service did what the tests asked with its own least-privilege NATS user: a refused publish or
    # subscription means the permission table (afo_common.nats_security) misses something the code does.
    if violations := permission_violations(platform):
        raise AssertionError("NATS refused what a service did:\n" + "\n".join(violations[:20]))


def permission_violations(platform: Platform) -> list[str]:
    """The permission violations nats-server logged (none when the platform used a NATS of its own)."""
    return [line for log in platform.logs_dir.glob("nats*.log") for line in log.read_text().splitlines()
            if "Violation" in line]
