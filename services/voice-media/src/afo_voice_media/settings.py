"""voice-media's settings: the common ones plus where Twilio and browsers reach it, how it takes turns, where
Twilio calls it back about outbound calls, and the providers' addresses (tests point them at local stand-ins)."""

from __future__ import annotations

from pydantic import Field

from afo_common.settings import ServiceSettings


class VoiceMediaSettings(ServiceSettings):
    # AFO_VOICE_MEDIA_WORKERS: processes in one instance, each with its own media hub (one per core it is given;
    # more than one needs a PostgreSQL database: afo_common.workers).
    voice_media_workers: int = Field(default=1, ge=1)
    # AFO_VOICE_MEDIA_PUBLIC_URL: the address Twilio opens media WebSockets at, e.g. wss://voice.example.com (the
    # TwiML the gateway answers points there). Unset: ws://<AFO_HTTP_HOST>:<its HTTP port>, for local runs.
    voice_media_public_url: str | None = None
    # AFO_VOICE_ICE_SERVERS: STUN/TURN URLs for browser calls, as JSON, e.g. ["stun:stun.example.com:3478"].
    # Empty: host candidates only, enough where browsers reach voice-media's addresses directly.
    voice_ice_servers: list[str] = []
    # AFO_VOICE_END_SILENCE_MS: the pause after which a caller's turn is over.
    voice_end_silence_ms: float = 640.0
    # AFO_VOICE_BACKCHANNEL_MAX_MS: caller speech over the agent shorter than this is a backchannel.
    voice_backchannel_max_ms: float = 700.0
    # AFO_VOICE_SMART_TURN_MAX_CALLS: Smart Turn ends finished sentences after a short pause while the process
    # carries at most this many calls; beyond, turns end on silence alone (its CPU is worth more as capacity).
    voice_smart_turn_max_calls: int = 20
    # AFO_VOICE_TRANSCRIPT_WAIT_S: how long a finished turn waits for the recogniser's words before it is taken
    # as unheard (the caller hears nothing back, and the line stays open).
    voice_transcript_wait_s: float = Field(default=10.0, gt=0)
    deepgram_url: str = "wss://api.deepgram.com"  # AFO_DEEPGRAM_URL
    # AFO_PUBLIC_URL: the gateway's address as Twilio reaches it; an outbound call asks Twilio to fetch its TwiML
    # at <AFO_PUBLIC_URL>/twilio/voice and report its status at /twilio/status. Unset: no outbound calls.
    public_url: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"  # AFO_TWILIO_API_BASE_URL
    elevenlabs_url: str = "https://api.elevenlabs.io"  # AFO_ELEVENLABS_URL

    def media_url(self) -> str:
        return self.voice_media_public_url or f"ws://{self.http_host}:{self.http_port}"
