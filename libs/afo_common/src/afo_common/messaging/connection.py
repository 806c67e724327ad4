"""The raw nats-py connection a service publishes through (outbox relay, real-time deltas, RPC calls).
FastStream owns the subscribing side; publishing through nats-py directly gives us ``publish_async``."""

from __future__ import annotations

import logging
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from afo_common.nats_security.client import NatsAuth

log = logging.getLogger(__name__)
# Closing drains subscriptions and flushes; bounded so a stop stays within its budget (afo_common.drain).
CLOSE_TIMEOUT_S = 2


def server_urls(url: str) -> list[str]:
    """``AFO_NATS_URL`` names one server or, comma-separated, several of one cluster (a client connects to any
    and moves to another when it goes)."""
    return [part.strip() for part in url.split(",") if part.strip()]


class NotConnected(RuntimeError):
    """Used before connect() or after close()."""


class NatsConnection:
    def __init__(self, url: str, name: str, auth: NatsAuth | None = None) -> None:
        self.url = url
        self.name = name
        self.auth = auth
        self._client: Client | None = None
        self._js: JetStreamContext | None = None

    async def connect(self) -> None:
        async def on_error(exc: Exception) -> None:
            log.warning("nats connection error (%s): %s", self.name, exc)

        self._client = await nats.connect(
            server_urls(self.url),
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            drain_timeout=CLOSE_TIMEOUT_S,
            error_cb=on_error,
            **(self.auth.connect_options() if self.auth else {}),
        )
        self._js = self._client.jetstream(publish_async_max_pending=4000)

    @property
    def client(self) -> Client:
        if self._client is None:
            raise NotConnected("NATS is not connected")
        return self._client

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise NotConnected("NATS is not connected")
        return self._js

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def publish(self, subject: str, payload: bytes, headers: dict[str, Any] | None = None) -> None:
        """Core NATS: fire and forget, for the latency-critical, non-durable real-time subjects."""
        await self.client.publish(subject, payload, headers=headers)

    async def close(self) -> None:
        if self._client is not None and not self._client.is_closed:
            await self._client.drain()
        self._client = None
        self._js = None
