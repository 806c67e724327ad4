"""The one loop that moves every call's audio in a process, every 10 ms.

Stock pipecat gives each call its own pipeline of processors and pushes every 20 ms frame through them one by
one: per-frame Python dominates its CPU (DEPENDENCIES.md: ~5 to 8% of a core per call). Here a tick takes every
call's new 32 ms windows at once: one μ-law lookup over all of them, one batched voice-activity inference in a
worker thread (onnxruntime releases the GIL, so the loop keeps serving sockets meanwhile), then each call's state
machine and its due outgoing frames. What remains per call per tick is a few attribute updates.

When voice activity cannot keep up (a loaded machine), the hub sheds load rather than fall behind: a tick takes at
most ``ROUNDS_PER_TICK`` windows of each call, so the agent's audio still goes out every tick, and a call's audio
more than ``BACKLOG_BYTES`` behind goes through without inference, judged as its last window was (every sample still
reaches the recogniser and the recording: the words are kept, only the voice-activity verdicts are approximate)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np
import numpy.typing as npt

from afo_voice_media.domain.audio import DECODE
from afo_voice_media.handlers.call_session import CallSession, TurnEnds
from afo_voice_media.metrics import SERVICE, VAD_WINDOWS_SHED

log = logging.getLogger(__name__)
WINDOW = 256  # 32 ms at 8 kHz: the voice-activity model's window
# A window is decided on at most this long after its last sample arrived (Twilio sends 20 ms frames, the model
# reads 32 ms windows): 10 ms keeps the tick's share of a turn's latency small at little cost per tick.
TICK_S = 0.01
# Windows of a call a tick decides on at most: 128 ms of audio each 10 ms, catching up at 12 times real time.
ROUNDS_PER_TICK = 4
# How far behind a call's audio may fall before its oldest windows are shed (a second of 8 kHz μ-law).
BACKLOG_BYTES = 8000


class VoiceActivity(Protocol):
    def acquire(self) -> int: ...

    def release(self, slot: int) -> None: ...

    def infer(self, slots: npt.NDArray[np.intp], windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...


class MediaHub:
    """``turn_ends``: the turn-end model, lent to every call while the process carries at most
    ``turn_ends_max_calls`` (beyond that its CPU is worth more as capacity, and turns end on silence)."""

    def __init__(self, vad: VoiceActivity, clock: Callable[[], float] = time.monotonic,
                 turn_ends: TurnEnds | None = None, turn_ends_max_calls: int = 20) -> None:
        self._vad = vad
        self._turn_ends = turn_ends
        self._turn_ends_max_calls = turn_ends_max_calls
        self._clock = clock
        self._sessions: dict[str, CallSession] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vad")
        self._task: asyncio.Task[None] | None = None
        self.late_ticks = 0
        self.worst_tick_s = 0.0
        self.shed_windows = 0

    @property
    def calls(self) -> int:
        return len(self._sessions)

    def add(self, session: CallSession) -> None:
        session.vad_slot = self._vad.acquire()
        self._sessions[session.call.call_id] = session
        self._lend_turn_ends()

    def remove(self, session: CallSession) -> None:
        if self._sessions.pop(session.call.call_id, None) is not None:
            self._vad.release(session.vad_slot)
            self._lend_turn_ends()

    def _lend_turn_ends(self) -> None:
        model = self._turn_ends if len(self._sessions) <= self._turn_ends_max_calls else None
        for session in self._sessions.values():
            session.turn_ends = model

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="media-hub")

    async def stop(self) -> None:
        log.info("media hub: %d late ticks, the longest %.1f ms; %d windows shed", self.late_ticks,
                 self.worst_tick_s * 1000.0, self.shed_windows)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=False)

    async def _run(self) -> None:
        next_at = self._clock()
        while True:
            started = self._clock()
            try:
                await self.tick(started)
            except Exception:
                log.exception("a media tick failed")
            took = self._clock() - started
            self.worst_tick_s = max(self.worst_tick_s, took)
            next_at += TICK_S
            if next_at < self._clock():  # overloaded: skip ahead rather than run ticks back to back
                self.late_ticks += 1
                next_at = self._clock() + TICK_S
            await asyncio.sleep(max(0.0, next_at - self._clock()))

    def _shed(self, now: float) -> None:
        """Each call's audio beyond ``BACKLOG_BYTES`` behind, its oldest whole windows, through without inference."""
        for session in list(self._sessions.values()):
            stale = (len(session.inbound) - BACKLOG_BYTES) // WINDOW * WINDOW
            if stale <= 0:
                continue
            pcm = DECODE[np.frombuffer(bytes(session.inbound[:stale]), dtype=np.uint8)].reshape(-1, WINDOW)
            del session.inbound[:stale]
            for window in pcm:
                session.on_window(session.vad_probability, window, now)
            self.shed_windows += len(pcm)
            VAD_WINDOWS_SHED.labels(SERVICE).inc(len(pcm))

    async def tick(self, now: float) -> None:
        self._shed(now)
        loop = asyncio.get_running_loop()
        for _ in range(ROUNDS_PER_TICK):
            ready = [s for s in self._sessions.values() if len(s.inbound) >= WINDOW]
            if not ready:
                break
            chunks = b"".join(bytes(s.inbound[:WINDOW]) for s in ready)
            for session in ready:
                del session.inbound[:WINDOW]
            pcm = DECODE[np.frombuffer(chunks, dtype=np.uint8)].reshape(len(ready), WINDOW)
            slots = np.fromiter((s.vad_slot for s in ready), dtype=np.intp, count=len(ready))
            windows = pcm.astype(np.float32) / 32768.0
            probabilities = await loop.run_in_executor(self._executor, self._vad.infer, slots, windows)
            for session, probability, window in zip(ready, probabilities.tolist(), pcm, strict=True):
                if session.call.call_id in self._sessions:
                    session.vad_probability = probability
                    session.on_window(probability, window, now)
        for session in list(self._sessions.values()):
            try:
                await session.flush(now)
            except Exception:  # one call's broken socket must not stop the others' audio
                log.exception("call %s: sending audio failed", session.call.call_id)
