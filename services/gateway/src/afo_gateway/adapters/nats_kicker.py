"""Closes an integrator's open NATS connections through the system account: ``CONNZ`` on every server
finds them by user name (the credential id), ``KICK`` on the server that holds each closes it."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from afo_common.messaging.connection import server_urls
from afo_common.nats_security.client import NatsAuth
from afo_common.nats_security.permissions import INTEGRATOR_ACCOUNT

log = logging.getLogger(__name__)
PING_CONNZ = "$SYS.REQ.SERVER.PING.CONNZ"


class NatsKicker:
    def __init__(self, url: str, auth: NatsAuth, gather_s: float = 0.25) -> None:
        self._url = url
        self._auth = auth
        self._gather_s = gather_s  # how long every server of a cluster gets to answer CONNZ
        self._client: Client | None = None

    async def start(self) -> None:
        async def on_error(exc: Exception) -> None:
            log.warning("system-account NATS connection: %s", exc)

        self._client = await nats.connect(server_urls(self._url), name="afo-gateway-system", error_cb=on_error,
                                          max_reconnect_attempts=-1, **self._auth.connect_options())

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def kick(self, credential_id: str) -> int:
        if self._client is None:
            raise RuntimeError("the system-account connection is not started")
        client = self._client
        found: list[tuple[str, int]] = []

        async def on_connz(msg: Msg) -> None:
            body: dict[str, Any] = json.loads(msg.data)
            data = body.get("data") or {}
            server_id = str((body.get("server") or {}).get("id") or data.get("server_id"))
            found.extend((server_id, int(conn["cid"])) for conn in data.get("connections") or [])

        inbox = client.new_inbox()
        subscription = await client.subscribe(inbox, cb=on_connz)
        try:
            query = {"user": credential_id, "acc": INTEGRATOR_ACCOUNT, "auth": True, "limit": 1024}
            await client.publish(PING_CONNZ, json.dumps(query).encode(), reply=inbox)
            await asyncio.sleep(self._gather_s)
        finally:
            await subscription.unsubscribe()
        for server_id, cid in found:
            await client.request(f"$SYS.REQ.SERVER.{server_id}.KICK", json.dumps({"cid": cid}).encode(), timeout=2)
        return len(found)
