"""Composition root of voice-media: phone calls (Twilio Media Streams) and browser calls (WebRTC) on one media hub
per process; outbound calls, voicemail and transfers through Twilio's REST API.

``offline_stt`` / ``offline_tts`` default to the engines that need no key (tests pass their own), and the tenants'
cloud providers are made from their vault credentials per call."""

from __future__ import annotations

import httpx

from afo_common.clock import SystemClock
from afo_common.conversation_feed import ConversationFeed
from afo_common.events.streams import RECORDINGS_BUCKET
from afo_common.messaging.blobs import BlobStore
from afo_common.messaging.store import SqlStore
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_voice_media.adapters.call_repository import SqlRepositories
from afo_voice_media.adapters.deepgram_stt import DeepgramStt
from afo_voice_media.adapters.elevenlabs_tts import ElevenLabsTts
from afo_voice_media.adapters.espeak_tts import EspeakTts
from afo_voice_media.adapters.silero_vad import SileroBatch
from afo_voice_media.adapters.smart_turn import SmartTurn
from afo_voice_media.adapters.tables import messaging
from afo_voice_media.adapters.twilio_calls import TwilioCalls
from afo_voice_media.adapters.whisper_stt import WhisperStt
from afo_voice_media.domain.speech import SpeechToText, TextToSpeech
from afo_voice_media.domain.turn_taking import CallManners, TurnPolicy
from afo_voice_media.entrypoints.media_ws import media_router
from afo_voice_media.entrypoints.rpc import register_rpc
from afo_voice_media.handlers.analytics import CallAnalytics
from afo_voice_media.handlers.browser_calls import BrowserCalls
from afo_voice_media.handlers.call_limits import PLAN_CHANGED, PlanCopies
from afo_voice_media.handlers.call_runner import CallRunner
from afo_voice_media.handlers.calls import Calls
from afo_voice_media.handlers.dialing import Dialer
from afo_voice_media.handlers.hearing import Hearing
from afo_voice_media.handlers.media_hub import MediaHub
from afo_voice_media.handlers.speech_engines import SpeechEngines, SttFactory, TtsFactory
from afo_voice_media.handlers.transfers import Transfers
from afo_voice_media.pipecat_logs import through_standard_logging
from afo_voice_media.settings import VoiceMediaSettings

SERVICE = "voice-media"
MIGRATIONS = "afo_voice_media.migrations"


def build(settings: ServiceSettings | None = None, *, offline_stt: SpeechToText | None = None,
          offline_tts: TextToSpeech | None = None, stt_providers: dict[str, SttFactory] | None = None,
          tts_providers: dict[str, TtsFactory] | None = None) -> Service:
    config = VoiceMediaSettings.of(settings, SERVICE)
    through_standard_logging(config.log_level)
    service = Service(config, messaging, MIGRATIONS)
    store = SqlStore(service.unit_of_work, SqlRepositories)
    clock = SystemClock()
    calls = Calls(store, service.unit_of_work, service.rpc, clock, config.media_url(),
                  BlobStore(service.nats, RECORDINGS_BUCKET))

    def twilio(fields: dict[str, str]) -> TwilioCalls:
        return TwilioCalls(fields["account_sid"], fields["auth_token"], base_url=config.twilio_api_base_url)

    dialer = Dialer(store, service.rpc, clock, calls, twilio, config.public_url)

    # One HTTP pool for every tenant's ElevenLabs requests (each request carries its tenant's key).
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    whisper: WhisperStt | None = None
    if offline_stt is None:
        whisper = offline_stt = WhisperStt()
    offline_tts = offline_tts or EspeakTts()
    engines = SpeechEngines(
        service.rpc, offline_stt, offline_tts,
        stt_providers or {"deepgram": lambda fields: DeepgramStt(fields["api_key"], base_url=config.deepgram_url)},
        tts_providers or {"elevenlabs": lambda fields: ElevenLabsTts(fields["api_key"], base_url=config.elevenlabs_url,
                                                                      http=http)})
    smart_turn = SmartTurn()
    hub = MediaHub(SileroBatch(), turn_ends=smart_turn, turn_ends_max_calls=config.voice_smart_turn_max_calls)
    feed = ConversationFeed(service.nats)
    policy = TurnPolicy(end_silence_ms=config.voice_end_silence_ms,
                        backchannel_max_ms=config.voice_backchannel_max_ms)
    runner = CallRunner(calls, hub, engines, feed, policy, handoff=Transfers(store, service.rpc, twilio),
                        manners=CallManners(transcript_wait_s=config.voice_transcript_wait_s))
    service.http.include_router(media_router(calls, runner, config.voice_media_public_url))
    browser = BrowserCalls(calls, runner, config.voice_ice_servers)
    # Agent tests' voice lines: spoken by the offline voice, heard by the agent's recogniser.
    register_rpc(service, calls, dialer, browser, CallAnalytics(store), Hearing(engines, offline_tts))
    # Its own copy of each tenant's call limits, from the gateway's plan events.
    service.consume(PLAN_CHANGED, PlanCopies(store, clock).plan_changed)

    async def start_media() -> None:
        if whisper is not None:  # loaded before the first caller, not while they wait
            await whisper.load()
        hub.start()

    async def stop_media() -> None:
        await browser.stop()
        await hub.stop()
        smart_turn.close()
        await http.aclose()

    service.on_start(start_media)
    service.on_stop(stop_media)
    return service
