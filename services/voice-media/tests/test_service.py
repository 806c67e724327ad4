"""voice-media as it runs today: it migrates its own store, becomes ready, answers its health RPC and consumes
nothing (its capability, and with it its consumers, arrive with a later issue)."""

from afo_testkit.bare_service import BareServiceChecks
from afo_voice_media.app import build


class TestVoiceMedia(BareServiceChecks):
    service_name = "voice-media"
    build = staticmethod(build)
