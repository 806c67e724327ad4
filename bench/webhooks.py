"""Benchmark of webhook delivery: deliveries/s from notifier's delivery worker to 100 subscribers, with and
without one subscriber that never answers.

    uv run python -m bench.webhooks [--events 30] [--subscribers 100] [--timeout 10]

The receivers run in a child process (uvicorn, httptools): one server answers 200 at once for every healthy
subscriber (each its own path, so its own subscription), another accepts the hanging subscriber's requests
and never answers. In this process: a SQLite store migrated as notifier's, ``--subscribers`` subscriptions
to ``lead.qualified``, ``--events`` events fanned out by the consumer's handler (one delivery per
subscription each), then the delivery worker (``Dispatcher``, the real ``WebhookSender``: HMAC signature,
SSRF guard with private targets allowed, one attempt's timeout ``--timeout``) run until every healthy
subscriber's deliveries are recorded ``delivered``. Deliveries/s is counted over the healthy ones only; each
delivery is one HTTP request and one transaction recording its attempt and its ``webhook.delivered`` event.

Run twice: all subscribers healthy, then one of them hanging (its deliveries wait on its own slots until the
timeout, the others go on). The two rates should match: a hanging endpoint must not slow anyone else."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from afo_common.clock import SystemClock
from afo_common.db import Database, migrate
from afo_common.events import envelope_for
from afo_common.events.conversation import LeadQualified
from afo_common.messaging.consumer import Delivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import notifier_webhooks as ops
from afo_notifier.adapters.store import sql_store
from afo_notifier.adapters.tables import messaging, webhook_deliveries
from afo_notifier.adapters.webhook_sender import WebhookSender
from afo_notifier.handlers.dispatch import Dispatcher
from afo_notifier.handlers.fanout import EventFanout, active_subscriptions
from afo_notifier.handlers.subscription_cache import LocalChanges, SubscriptionCache
from afo_notifier.handlers.subscriptions import Subscriptions

TENANT = "t_bench"


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def answer_ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def hang(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await asyncio.Event().wait()


def serve(ok: socket.socket, hanging: socket.socket) -> None:
    import uvicorn

    async def main() -> None:
        servers = [uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off", http="httptools",
                                                 loop="uvloop", timeout_keep_alive=30, backlog=4096))
                   for app in (answer_ok, hang)]
        await asyncio.gather(servers[0].serve(sockets=[ok]), servers[1].serve(sockets=[hanging]))

    asyncio.run(main())


async def run(events: int, subscribers: int, hanging: bool, timeout_s: float, ok_port: int,
              hang_port: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        db = Database(f"sqlite+aiosqlite:///{Path(home) / 'notifier.db'}")
        await migrate(db, "afo_notifier.migrations")
        units = UnitOfWorkFactory(db, messaging, "notifier", lambda: None)
        store, clock = sql_store(units), SystemClock()
        sender = WebhookSender(timeout_s=timeout_s, allow_private=True)
        cache = SubscriptionCache(active_subscriptions(store))
        dispatcher = Dispatcher(store, sender, clock, changes=LocalChanges(cache))
        subscriptions = Subscriptions(store, clock, None, dispatcher.wake, LocalChanges(cache))
        healthy: list[str] = []
        for n in range(subscribers):
            url = (f"http://127.0.0.1:{hang_port}/hang" if hanging and n == 0
                   else f"http://127.0.0.1:{ok_port}/s{n}")
            created = await subscriptions.create(ops.CreateSubscription(
                tenant_id=TENANT, subscription=ops.SubscriptionBody(url=url, events=["lead.qualified"])))
            if "/hang" not in url:
                healthy.append(created.id)
        fanout = EventFanout(store, clock, lambda: None, cache)
        started = time.perf_counter()
        for n in range(events):
            payload = LeadQualified(lead_id=f"lead_{n}", conversation_id=f"conv_{n}", agent_id="agt_1", fields={})
            envelope = envelope_for(payload, tenant_id=TENANT, source="agent-runtime")
            await fanout(Delivery(envelope, payload, 1, "notifier-webhooks-conversation", units))
        fanned = time.perf_counter() - started

        expected = events * len(healthy)
        worker = asyncio.create_task(dispatcher.run())
        started = time.perf_counter()
        while True:
            async with db.session() as session:
                done = (await session.execute(select(func.count()).select_from(webhook_deliveries).where(
                    webhook_deliveries.c.status == "delivered",
                    webhook_deliveries.c.subscription_id.in_(healthy)))).scalar_one()
            if done >= expected:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await dispatcher.stop()
        await sender.aclose()
        await db.dispose()
    return {"delivered": expected, "seconds": elapsed, "per_s": expected / elapsed,
            "fanout_events_per_s": events / fanned}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    ok, hanging = free_socket(), free_socket()
    receivers = multiprocessing.get_context("fork").Process(target=serve, args=(ok, hanging), daemon=True)
    receivers.start()
    try:
        time.sleep(1.0)  # the receivers' servers start
        rows = []
        for with_hang in (False, True):
            result = asyncio.run(run(args.events, args.subscribers, with_hang, args.timeout,
                                     ok.getsockname()[1], hanging.getsockname()[1]))
            rows.append(("1 hanging" if with_hang else "none hanging", result))
    finally:
        receivers.kill()  # a graceful stop would wait for the hanging request forever
        receivers.join()
    print(f"\nwebhook delivery: {args.subscribers} subscribers, {args.events} events each, SQLite, "
          f"timeout {args.timeout:g} s\n")
    print(f"{'subscribers hanging':<20} {'delivered (healthy)':>20} {'seconds':>9} {'deliveries/s':>13} "
          f"{'fan-out events/s':>17}")
    for label, r in rows:
        print(f"{label:<20} {int(r['delivered']):>20} {r['seconds']:>9.2f} {r['per_s']:>13.0f} "
              f"{r['fanout_events_per_s']:>17.0f}")


if __name__ == "__main__":
    main()
