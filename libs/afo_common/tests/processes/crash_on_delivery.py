"""A service whose handler kills its own process on every delivery: ``python crash_on_delivery.py
<nats_url> <home>``. The MAX_DELIVERIES test restarts it until JetStream gives up on the message."""

import asyncio
import os
import sys
from pathlib import Path

from afo_common.events.agent import AgentCreated
from afo_common.events.streams import AGENT
from afo_common.messaging.consumer import ConsumerSpec, Delivery
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_testkit.migrations import messaging

SPEC = ConsumerSpec(durable="test-svc-crash", stream=AGENT, event=AgentCreated, max_deliver=2, ack_wait_s=1.0)
CRASH_EXIT_CODE = 17


async def crash(_delivery: Delivery) -> None:
    os._exit(CRASH_EXIT_CODE)


async def main(nats_url: str, home: Path) -> None:
    settings = ServiceSettings.for_service("test-svc", home=home, nats_url=nats_url, http_port=0,
                                           drain_timeout_s=2.0)
    service = Service(settings, messaging, "afo_testkit.migrations")
    service.consume(SPEC, crash)
    async with service.http.router.lifespan_context(service.http):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
