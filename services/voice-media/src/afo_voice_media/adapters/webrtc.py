"""Browser calls over WebRTC: pipecat's ``SmallWebRTCConnection`` (aiortc) for the offer/answer and the peer
connection; the audio is brought to the phone format the media hub runs on (8 kHz μ-law), so a browser call and
a phone call share one engine.

Inbound: the browser's Opus, decoded by aiortc, resampled to 8 kHz mono (PyAV's resampler) and μ-law encoded
into the call's inbound buffer. Outbound: the hub's paced μ-law frames decoded to 8 kHz PCM and played by a track
that hands aiortc one 20 ms frame per 20 ms (aiortc's Opus encoder resamples to 48 kHz itself)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection

from afo_voice_media.domain.audio import FRAME_SAMPLES, PHONE_RATE, pcm_to_ulaw, ulaw_to_pcm

log = logging.getLogger(__name__)
_SILENCE = bytes(FRAME_SAMPLES * 2)
_TIME_BASE = fractions.Fraction(1, PHONE_RATE)


class AgentTrack(MediaStreamTrack):
    """The agent's voice to the browser: 20 ms frames at real time, silence when there is nothing to say."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[bytes] = deque()
        self._start: float | None = None
        self._timestamp = 0

    def push(self, ulaw: bytes) -> None:
        self._queue.append(ulaw_to_pcm(ulaw).tobytes())

    def clear(self) -> None:
        self._queue.clear()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += FRAME_SAMPLES
            await asyncio.sleep(max(0.0, self._start + self._timestamp / PHONE_RATE - time.time()))
        pcm = self._queue.popleft() if self._queue else _SILENCE
        if len(pcm) < len(_SILENCE):
            pcm += bytes(len(_SILENCE) - len(pcm))
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(pcm)
        frame.pts = self._timestamp
        frame.sample_rate = PHONE_RATE
        frame.time_base = _TIME_BASE
        return frame


class WebRtcSink:
    def __init__(self, track: AgentTrack, hang_up: Callable[[], None]) -> None:
        self._track = track
        self._hang_up = hang_up

    async def send_audio(self, ulaw: bytes) -> None:
        self._track.push(ulaw)

    async def send_mark(self, name: str) -> None:
        """WebRTC has no marks: what was heard is known from the pacing alone."""

    async def clear(self) -> None:
        self._track.clear()

    async def hang_up(self) -> None:
        self._hang_up()


class BrowserCall:
    """One browser's peer connection: answered at once, then connected and carrying audio until it closes."""

    def __init__(self, ice_servers: list[str], connect_timeout_s: float = 30.0) -> None:
        self.connection = SmallWebRTCConnection(ice_servers=ice_servers or None,
                                                connection_timeout_secs=int(connect_timeout_s))
        self.track = AgentTrack()
        self._connected = asyncio.Event()
        self._closed = asyncio.Event()
        self._connect_timeout_s = connect_timeout_s

        @self.connection.event_handler("connected")
        async def on_connected(_connection: SmallWebRTCConnection) -> None:
            self._connected.set()

        @self.connection.event_handler("closed")
        async def on_closed(_connection: SmallWebRTCConnection) -> None:
            self._closed.set()

        @self.connection.event_handler("failed")
        async def on_failed(_connection: SmallWebRTCConnection) -> None:
            self._closed.set()

    def hang_up(self) -> None:
        self._closed.set()

    async def answer(self, sdp: str) -> str:
        """The SDP answer to the browser's offer (host candidates included: aiortc gathers before answering).
        ValueError for an offer that is not SDP or has no audio to talk over."""
        if "\nm=audio " not in sdp.replace("\r\n", "\n"):
            raise ValueError("the offer has no audio section (m=audio)")
        await self.connection.initialize(sdp=sdp, type="offer")
        self.connection.replace_audio_track(self.track)
        await self.connection.connect()
        answer = self.connection.get_answer()
        if answer is None:
            raise ValueError("the offer gave no answer")
        return str(answer["sdp"])

    async def carry(self, inbound: bytearray) -> bool:
        """Moves the caller's audio into ``inbound`` until the browser goes away. False when it never connected."""
        try:
            await asyncio.wait_for(self._connected.wait(), self._connect_timeout_s)
        except TimeoutError:
            return False
        track = self.connection.audio_input_track()
        if track is None:
            return True
        resampler = AudioResampler(format="s16", layout="mono", rate=PHONE_RATE)
        reading = asyncio.ensure_future(self._read(track, resampler, inbound))
        closed = asyncio.ensure_future(self._closed.wait())
        await asyncio.wait({reading, closed}, return_when=asyncio.FIRST_COMPLETED)
        for task in (reading, closed):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                await task
        return True

    @staticmethod
    async def _read(track: object, resampler: AudioResampler, inbound: bytearray) -> None:
        while True:
            frame = await track.recv()  # type: ignore[attr-defined]
            if frame is None:
                return
            for resampled in resampler.resample(frame):
                pcm = np.frombuffer(bytes(resampled.planes[0])[:resampled.samples * 2], dtype="<i2")
                inbound += pcm_to_ulaw(pcm)

    async def close(self) -> None:
        self.track.stop()
        await self.connection.disconnect()
