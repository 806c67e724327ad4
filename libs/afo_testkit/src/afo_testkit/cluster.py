"""What a test or benchmark asks of the platform's JetStream cluster (``running_platform(..., nats_nodes=3)``)."""

from __future__ import annotations

import asyncio
import contextlib

import nats

from afo_cli.platform import Platform
from afo_common.messaging.connection import server_urls

__all__ = ["stream_leader"]


async def stream_leader(platform: Platform, stream: str, other_than: str = "", within_s: float = 30.0) -> str:
    """The server that leads ``stream`` (once it is not ``other_than``): asked until the cluster answers;
    TimeoutError past ``within_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    client = await nats.connect(server_urls(platform.nats_url), **platform.nats_auth().connect_options())
    try:
        while True:
            with contextlib.suppress(nats.errors.Error):  # no leader yet: the cluster is electing one
                info = await client.jetstream(timeout=1.0).stream_info(stream)
                leader = info.cluster.leader if info.cluster is not None else None
                if leader and leader != other_than:
                    return leader
            if loop.time() >= deadline:
                raise TimeoutError(f"{stream} had no leader but {other_than!r} within {within_s} s")
            await asyncio.sleep(0.2)
    finally:
        await client.close()
