"""Stopping within the orchestrator's grace period.

On SIGTERM a service stops taking work and finishes what it holds, in this order and within these bounds:

1. at once: readiness drops, long-lived responses (SSE) are told to end, and interest in NATS subjects is
   dropped, so new messages and requests go to the other replicas;
2. in-flight HTTP requests and event handlers finish, side by side: at most ``drain_timeout_s``; the
   subscriber connection then closes (``NATS_CLOSE_S``);
3. the outbox relay publishes what the handlers committed: at most ``ACK_TIMEOUT_S``;
4. the publishing connection closes (``NATS_CLOSE_S``), then the database.

``shutdown_budget_s`` adds these up; every Deployment's ``terminationGracePeriodSeconds`` must cover its
preStop pause plus this budget (tests/deploy checks the manifests against it)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from afo_common.messaging.connection import CLOSE_TIMEOUT_S
from afo_common.messaging.outbox_relay import ACK_TIMEOUT_S
from afo_common.settings import ServiceSettings

NATS_CLOSE_S = CLOSE_TIMEOUT_S
# Stop hooks (closing provider clients) and the database: quick, but not free.
HOUSEKEEPING_S = 1.0


def shutdown_budget_s(settings: ServiceSettings) -> float:
    """The longest a service takes from SIGTERM to exit."""
    return settings.drain_timeout_s + NATS_CLOSE_S + ACK_TIMEOUT_S + NATS_CLOSE_S + HOUSEKEEPING_S


class DrainingServer(uvicorn.Server):
    """uvicorn waits for open connections before the app's shutdown runs; the drain starts first, so
    SSE streams end and deliveries stop at once instead of after the HTTP grace period."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)
