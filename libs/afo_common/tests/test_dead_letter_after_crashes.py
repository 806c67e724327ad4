"""A handler that kills its process on every delivery, with one instance of the service (as under
``afo up``): once JetStream gives up redelivering, the message must still end as exactly one dead letter.
The server announces that in a MAX_DELIVERIES advisory as soon as the restarted consumer is back — before
a plain subscription made after start-up exists — so the advisory has to be kept in a stream."""

import asyncio
import sys
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from afo_common.events import Envelope, envelope_for
from afo_common.events.agent import AgentCreated
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.streams import ensure_streams
from afo_testkit.nats import NatsServer

from .processes.crash_on_delivery import CRASH_EXIT_CODE, SPEC
from .test_service_consumer import dead_letters, eventually

SCRIPT = Path(__file__).parent / "processes" / "crash_on_delivery.py"


async def start(nats: NatsServer, home: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, str(SCRIPT), nats.url, str(home),
                                                stdout=asyncio.subprocess.PIPE)


@pytest.mark.long
async def test_a_process_that_dies_on_every_delivery_ends_in_exactly_one_dead_letter(
    tmp_path: Path, nats: NatsServer, connection: NatsConnection
) -> None:
    js: JetStreamContext = connection.js
    await ensure_streams(js)
    event = envelope_for(AgentCreated(agent_id="agt_1", name="poison"), tenant_id="ten_a", source="gateway")
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})

    crashes = 0
    for _ in range(SPEC.max_deliver):
        process = await start(nats, tmp_path / "home")
        assert await asyncio.wait_for(process.wait(), timeout=30) == CRASH_EXIT_CODE
        crashes += 1
        await asyncio.sleep(SPEC.ack_wait_s * 1.5)  # the delivery's ack wait runs out while it is down

    survivor = await start(nats, tmp_path / "home")
    try:
        async def dead_lettered() -> bool:
            return len(await dead_letters(js)) >= 1

        await eventually(dead_lettered, timeout_s=15)
        await asyncio.sleep(1.0)  # a second letter would arrive about now
        letters = await dead_letters(js)
        assert survivor.returncode is None, "no further delivery reached the handler"
    finally:
        survivor.terminate()
        await survivor.wait()

    assert crashes == SPEC.max_deliver
    assert len(letters) == 1
    [letter] = letters
    assert letter.reason == "max_deliver reached without a verdict (the handler crashed or timed out)"
    assert (letter.consumer, letter.num_delivered) == (SPEC.durable, SPEC.max_deliver)
    assert Envelope.model_validate_json(letter.payload).id == event.id
