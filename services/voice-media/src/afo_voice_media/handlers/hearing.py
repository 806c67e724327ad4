"""What an agent's recogniser hears of a caller's lines (``speech.hear``, for agent-runtime's voice tests): each
line spoken by the offline voice (a stand-in for the caller), carried as a phone call carries it (8 kHz μ-law and
back, in 20 ms frames) and recognised by the engine a call of the agent would use. Nothing is recorded.

One request is heard at a time per process, so tests never take more than one of the recogniser's workers from
the calls in progress."""

from __future__ import annotations

import asyncio

from afo_common.messaging.rpc import RpcError
from afo_common.rpcs.voice_media_speech import HeardLines, HearLines
from afo_voice_media.domain.audio import FRAME_MS, PHONE_RATE, pcm_bytes_to_ulaw, ulaw_to_pcm
from afo_voice_media.domain.speech import SpeechError, SpeechToText, TextToSpeech
from afo_voice_media.handlers.speech_engines import SpeechEngines

FRAME_BYTES = PHONE_RATE * FRAME_MS // 1000 * 2  # 16-bit PCM


class Hearing:
    def __init__(self, engines: SpeechEngines, caller_voice: TextToSpeech) -> None:
        self._engines = engines
        self._caller_voice = caller_voice
        self._one_at_a_time = asyncio.Lock()

    async def hear(self, request: HearLines) -> HeardLines:
        async with self._one_at_a_time:
            speech = await self._engines.for_call(request.tenant_id, request.voice)
            try:
                heard = [await self._heard(speech.stt, speech.language, request.hints, line)
                         for line in request.lines]
            except SpeechError as exc:
                raise RpcError("unavailable", f"speech failed: {exc}") from exc
        return HeardLines(heard=heard, stt=speech.stt.name)

    async def _heard(self, stt: SpeechToText, language: str, hints: list[str], line: str) -> str:
        spoken = b"".join([chunk async for chunk in self._caller_voice.speak(line, PHONE_RATE, None)])
        phone = ulaw_to_pcm(pcm_bytes_to_ulaw(spoken)).astype("<i2").tobytes()
        session = await stt.open(PHONE_RATE, language, hints)
        try:
            for start in range(0, len(phone), FRAME_BYTES):
                await session.send(phone[start:start + FRAME_BYTES])
            return (await session.finish()).text.strip()
        finally:
            await session.close()
