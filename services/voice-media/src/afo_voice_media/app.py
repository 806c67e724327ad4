"""Composition root of voice-media. Phone and browser calls (Twilio, WebRTC) on pipecat arrive with issue 14.
Today it owns and migrates its store and answers its health RPC; it consumes nothing yet."""

from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_voice_media.adapters.tables import messaging


def build(settings: ServiceSettings | None = None) -> Service:
    settings = settings or ServiceSettings.for_service("voice-media")
    return Service(settings, messaging, "afo_voice_media.migrations")
