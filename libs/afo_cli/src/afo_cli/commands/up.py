"""``afo up``: start NATS and the six services, print where everything is, supervise until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from afo_cli.errors import PlatformError
from afo_cli.platform import Platform
from afo_cli.platform_config import PlatformConfig
from afo_cli.services import GATEWAY

INTERRUPTED = 130


def run(args: argparse.Namespace) -> int:
    try:
        config = PlatformConfig.from_env({**os.environ, **({"AFO_NATS_NODES": "3"} if args.cluster else {})})
    except PlatformError as exc:
        print(f"afo up: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(_up(config))


def _report(message: str) -> None:
    print(f"afo: {message}", file=sys.stderr, flush=True)


async def _up(config: PlatformConfig) -> int:
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    platform = Platform(config, report=_report)
    print(f"afo: starting {len(config.services)} services (state in {config.home}) ...", flush=True)
    starting = asyncio.create_task(platform.start())
    stopping = asyncio.create_task(stop_requested.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        _report("interrupted while starting; stopping what was started")
        starting.cancel()  # start() stops whatever it had started before re-raising
        with contextlib.suppress(asyncio.CancelledError, PlatformError):
            await starting
        return INTERRUPTED
    if (error := starting.exception()) is not None:
        stopping.cancel()
        print(f"afo up: {error}", file=sys.stderr)
        return 1
    print(banner(platform), flush=True)
    await stopping
    print(f"afo: stopping (services drain for up to {config.stop_timeout_s:.0f} s) ...", flush=True)
    await platform.stop()
    print("afo: stopped", flush=True)
    return 0


def banner(platform: Platform) -> str:
    gateway = platform.gateway_url
    lines = ["", "AFO is running.", ""]
    if GATEWAY in platform.urls:
        lines += [
            f"  Console        {gateway}/console   (sign up there, or run `afo demo` for a login)",
            f"  Gateway API    {platform.api_url}",
            f"  API docs       {gateway}/docs",
            f"  OpenAPI        {gateway}/openapi.json",
        ]
    lines += [
        f"  NATS           {platform.nats_url}",
        f"  Logs           {platform.logs_dir}/",
    ]
    if platform.smtp_sink is not None:
        lines += [f"  SMTP sink      127.0.0.1:{platform.smtp_sink.port} (mail kept in {platform.home / 'mail'}/)"]
    lines += [
        "",
        "  Health (each also serves /readyz and /metrics):",
    ]
    width = max(len(name) for name in platform.urls)
    lines += [f"    {name:<{width}}  {url}/healthz" for name, url in platform.urls.items()]
    lines += [
        "",
        "Next: run `afo demo` in another terminal to create a demo tenant, agent and conversation.",
        "`afo status` shows what runs; Ctrl-C here (or `afo down`) stops everything.",
        "",
    ]
    return "\n".join(lines)
