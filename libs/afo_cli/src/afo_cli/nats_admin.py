"""Short-lived administrative NATS connections: provisioning the JetStream streams, asking the gateway about
operators."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from afo_cli.errors import PlatformError
from afo_common.messaging.blobs import ensure_buckets
from afo_common.messaging.connection import server_urls
from afo_common.messaging.streams import ensure_streams
from afo_common.nats_security.client import NatsAuth


@asynccontextmanager
async def connected(url: str, auth: NatsAuth | None = None) -> AsyncIterator[Client]:
    async def quiet(_exc: Exception) -> None:
        # Connection errors surface as the exception below; nats-py would also log each attempt.
        return None

    try:
        # Few, quick attempts: nats-py's defaults retry for two minutes before telling anyone.
        client = await nats.connect(
            server_urls(url), connect_timeout=3, max_reconnect_attempts=2, reconnect_time_wait=0.5, error_cb=quiet,
            **(auth.connect_options() if auth else {}),
        )
    except Exception as exc:
        raise PlatformError(f"cannot connect to NATS at {url}: {exc or type(exc).__name__}") from exc
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def jetstream(url: str, auth: NatsAuth | None = None) -> AsyncIterator[JetStreamContext]:
    async with connected(url, auth) as client:
        yield client.jetstream()


async def jetstream_ready(url: str, auth: NatsAuth | None = None, timeout_s: float = 30.0) -> None:
    """Wait until JetStream answers: a new cluster's first requests go unanswered until its servers have elected
    a metadata leader."""
    deadline = time.monotonic() + timeout_s
    async with connected(url, auth) as client:
        js = client.jetstream(timeout=0.5)
        while True:
            try:
                await js.account_info()
                return
            except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError) as exc:
                if time.monotonic() >= deadline:
                    raise PlatformError(f"JetStream on {url} did not answer within {timeout_s:.0f} s: {exc}") from exc
                await asyncio.sleep(0.2)


async def ensure_streams_at(url: str, replicas: int = 1, auth: NatsAuth | None = None) -> list[Any]:
    """Create or update every stream with the admin credential; their current ``StreamInfo``, for printing."""
    async with jetstream(url, auth) as js:
        try:
            names = await ensure_streams(js, replicas) + await ensure_buckets(js, replicas)
            return [await js.stream_info(name) for name in names]
        except nats.errors.Error as exc:
            raise PlatformError(f"cannot provision the JetStream streams on {url}: {exc}") from exc
