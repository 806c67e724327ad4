"""voice-media as a service: it migrates its own store, becomes ready and answers its health RPC; it reads no
JetStream consumer (a call's live notices come on core NATS, its commands over RPC)."""

from afo_testkit.bare_service import BareServiceChecks
from afo_voice_media.app import build


class TestVoiceMedia(BareServiceChecks):
    service_name = "voice-media"
    build = staticmethod(build)
