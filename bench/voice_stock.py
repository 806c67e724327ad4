"""Stock pipecat 1.14 serving Twilio Media Streams: the baseline the voice benchmark measures AFO against.

    python bench/voice_stock.py --port 8765 [--stt-delay 0.1] [--llm-delay 0.05] [--tts-delay 0.08]

``WS /twilio/media``, one pipeline per call, built the way pipecat's documentation builds a phone bot:
FastAPIWebsocketTransport with TwilioFrameSerializer (μ-law 8 kHz ↔ PCM 16 kHz, ``auto_hang_up=False``: no
Twilio credentials here) → VADProcessor(SileroVADAnalyzer()) → an STT → the user context aggregator, whose
turn ends when Smart Turn v3 (LocalSmartTurnAnalyzerV3) says so → an LLM → a TTS → transport out, run by a
PipelineWorker on its own WorkerRunner. Barge-in is pipecat's default: the VAD start of user speech interrupts
the bot, and the serializer turns the interruption into a Twilio ``clear``.

The three providers are fakes that answer after known delays, so what the benchmark measures beyond them is
the platform's own: the STT (a SegmentedSTTService, given the speech between VAD start and stop) answers a
fixed transcript ``--stt-delay`` s after the segment ends, the LLM answers a fixed sentence ``--llm-delay`` s
after the user turn reaches it, the TTS yields PCM as long as the text would take to say (``--ms-per-char``)
``--tts-delay`` s after it is asked. Pipecat logs at WARNING: a deployment would not log per event."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncGenerator

import numpy as np
import uvicorn
from fastapi import FastAPI, WebSocket
from loguru import logger
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.time import time_now_iso8601
from pipecat.workers.runner import WorkerRunner

SAMPLE_RATE = 16000
TRANSCRIPT = "Hi, I would like to book a cleaning for next week."
REPLY = "Sure, I can book that for you right away."


class FakeSTT(SegmentedSTTService):
    """Answers every speech segment with the same transcript after ``delay`` s, as a batch provider would."""

    def __init__(self, delay: float, transcript: str = TRANSCRIPT) -> None:
        super().__init__(settings=STTSettings(model=None, language=None))
        self._delay = delay
        self._transcript = transcript

    @property
    def wants_wav_segments(self) -> bool:
        return False

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await asyncio.sleep(self._delay)
        yield TranscriptionFrame(self._transcript, self._user_id, time_now_iso8601())


class FakeLLM(FrameProcessor):
    """Answers each user turn (the context the user aggregator sends) with one sentence after ``delay`` s."""

    def __init__(self, delay: float, reply: str = REPLY) -> None:
        super().__init__()
        self._delay = delay
        self._reply = reply

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        await asyncio.sleep(self._delay)
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(self._reply))
        await self.push_frame(LLMFullResponseEndFrame())


class FakeTTS(TTSService):
    """Yields a tone as long as ``text`` would take to say, its first byte ``delay`` s after the request."""

    def __init__(self, delay: float, ms_per_char: float) -> None:
        super().__init__(settings=TTSSettings(model=None, voice=None, language=None), sample_rate=SAMPLE_RATE,
                         push_start_frame=True, push_stop_frames=True)
        self._delay = delay
        self._ms_per_char = ms_per_char

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        await asyncio.sleep(self._delay)
        samples = int(len(text) * self._ms_per_char * SAMPLE_RATE / 1000)
        t = np.arange(samples) / SAMPLE_RATE
        pcm = (6000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16).tobytes()
        chunk = SAMPLE_RATE // 10 * 2  # 100 ms, as streaming providers send
        for i in range(0, len(pcm), chunk):
            yield TTSAudioRawFrame(pcm[i:i + chunk], SAMPLE_RATE, 1, context_id=context_id)


def build_app(args: argparse.Namespace) -> FastAPI:
    app = FastAPI()

    @app.websocket("/twilio/media")
    async def media(websocket: WebSocket) -> None:
        await websocket.accept()
        start = await _start_message(websocket)
        if start is None:
            await websocket.close(code=1008)
            return
        await run_call(websocket, start, args)

    return app


async def _start_message(websocket: WebSocket) -> dict[str, str] | None:
    """Twilio's ``connected`` then ``start``: the stream's and the call's ids, before any media."""
    for _ in range(2):
        message = json.loads(await websocket.receive_text())
        if message.get("event") == "start":
            start = message.get("start", {})
            return {"stream_sid": start.get("streamSid", ""), "call_sid": start.get("callSid", "")}
    return None


async def run_call(websocket: WebSocket, start: dict[str, str], args: argparse.Namespace) -> None:
    serializer = TwilioFrameSerializer(start["stream_sid"], start["call_sid"],
                                       params=TwilioFrameSerializer.InputParams(auto_hang_up=False))
    transport = FastAPIWebsocketTransport(websocket, FastAPIWebsocketParams(
        audio_in_enabled=True, audio_out_enabled=True, add_wav_header=False, serializer=serializer))
    aggregators = LLMContextAggregatorPair(LLMContext(), user_params=LLMUserAggregatorParams(
        user_turn_strategies=UserTurnStrategies(
            stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=LocalSmartTurnAnalyzerV3())])))
    pipeline = Pipeline([
        transport.input(), VADProcessor(vad_analyzer=SileroVADAnalyzer()), FakeSTT(args.stt_delay),
        aggregators.user(), FakeLLM(args.llm_delay), FakeTTS(args.tts_delay, args.ms_per_char),
        transport.output(), aggregators.assistant(),
    ])
    worker = PipelineWorker(pipeline, params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE,
                                                            audio_out_sample_rate=SAMPLE_RATE))

    @transport.event_handler("on_client_disconnected")  # type: ignore[untyped-decorator]
    async def hung_up(transport: FastAPIWebsocketTransport, client: WebSocket) -> None:
        await worker.cancel()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--stt-delay", type=float, default=0.1)
    parser.add_argument("--llm-delay", type=float, default=0.05)
    parser.add_argument("--tts-delay", type=float, default=0.08)
    parser.add_argument("--ms-per-char", type=float, default=70.0, help="length of the fake speech per character")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level=args.log_level)
    uvicorn.run(build_app(args), host=args.host, port=args.port, log_level="warning", ws_max_size=2**20)


if __name__ == "__main__":
    main()
