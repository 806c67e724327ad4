"""A call from its first audio to its end, whatever carries it (Twilio Media Streams, WebRTC): its speech engines
chosen, its session on the media hub and listening to its conversation, and its end recorded however it comes
(the caller hangs up, the socket drops, a provider fails)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from afo_common.conversation_feed import ConversationFeed
from afo_common.events.call import CallEnd
from afo_voice_media.adapters.call_repository import CallRow
from afo_voice_media.adapters.recording import Recording
from afo_voice_media.domain.audio import PHONE_RATE
from afo_voice_media.domain.speech import SpeechError
from afo_voice_media.domain.turn_taking import CallManners, TurnPolicy
from afo_voice_media.handlers.call_session import CallContext, CallSession, Handoff, MediaSink
from afo_voice_media.handlers.calls import Calls, context_of
from afo_voice_media.handlers.media_hub import MediaHub
from afo_voice_media.handlers.speech_engines import SpeechEngines
from afo_voice_media.metrics import CALLS_ACTIVE, CALLS_ENDED, SERVICE

log = logging.getLogger(__name__)

# Carries the call's audio into ``session.inbound`` until the call ends, and says how it ended.
Transport = Callable[[CallSession], Awaitable[CallEnd]]


@dataclass(frozen=True)
class CallRunner:
    calls: Calls
    hub: MediaHub
    engines: SpeechEngines
    feed: ConversationFeed
    policy: TurnPolicy
    handoff: Handoff | None = None
    manners: CallManners = field(default_factory=CallManners)

    async def run(self, row: CallRow, sink: MediaSink, transport: Transport) -> CallEnd:
        started = time.monotonic()
        call = context_of(row)
        session: CallSession | None = None
        reason: CallEnd = "failed"
        recording = Recording()
        CALLS_ACTIVE.labels(SERVICE).inc()
        try:
            speech = await self.engines.for_call(row.tenant_id, row.voice)
            call = context_of(row, speech.voice)
            stt = await speech.stt.open(PHONE_RATE, speech.language, row.hints)
            session = CallSession(call, stt, speech.tts, sink, self.calls, self.policy, handoff=self.handoff,
                                  recorder=recording, manners=self.manners)
            async with self.feed.following(row.tenant_id, row.conversation_id, session.on_notice):
                self.hub.add(session)
                session.start()
                reason = await transport(session)
                reason = session.ended_by or reason
        except SpeechError as exc:
            log.warning("call %s: speech unavailable: %s", row.id, exc)
        finally:
            CALLS_ACTIVE.labels(SERVICE).dec()
            CALLS_ENDED.labels(SERVICE, reason).inc()
            if session is not None:
                self.hub.remove(session)
                await session.close(reason)
            await self.calls.ended(call, reason, time.monotonic() - started, session.turns_taken if session else 0)
            await self._keep(call, recording)
        return reason

    async def _keep(self, call: CallContext, recording: Recording) -> None:
        try:
            if recording.seconds > 0:
                wav = await asyncio.to_thread(recording.wav)
                await self.calls.keep_recording(call, wav, recording.seconds)
        except Exception:  # the call's record stands without its recording
            log.exception("call %s: the recording could not be stored", call.call_id)
        finally:
            recording.close()
