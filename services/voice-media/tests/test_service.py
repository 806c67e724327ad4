"""voice-media as a service: it migrates its own store, becomes ready and answers its health RPC; it reads one
JetStream consumer, its copy of the tenants' plans (a call's live notices come on core NATS, its commands over
RPC)."""

from afo_common.events.streams import ADVISORIES
from afo_common.messaging.connection import NatsConnection
from afo_common.service import Service
from afo_testkit.bare_service import BareServiceChecks
from afo_voice_media.app import build
from afo_voice_media.handlers.call_limits import PLAN_CHANGED


class TestVoiceMedia(BareServiceChecks):
    service_name = "voice-media"
    build = staticmethod(build)

    async def test_it_subscribes_to_no_jetstream_consumer(self, running: Service, client: NatsConnection) -> None:
        """Replaces the bare check: the plan events' consumer, on the tenant stream, and nothing else."""
        streams = [str(info.config.name) for info in await client.js.streams_info()]
        consumers = {(stream, c.name) for stream in streams for c in await client.js.consumers_info(stream)
                     if stream != ADVISORIES}  # where the consumer's MAX_DELIVERIES advisories are read
        assert consumers == {(PLAN_CHANGED.stream, PLAN_CHANGED.durable)}
