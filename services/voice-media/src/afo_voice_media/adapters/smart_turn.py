"""Smart Turn v3 (the model pipecat's wheel ships): from the last 8 s of the caller's voice, whether the caller has
finished the turn or only paused mid-thought. It lets a finished sentence end the turn after a short pause
instead of the full end silence.

It is the costliest thing on the call path (measured ~60 ms of CPU per run here, and batching does not make it
cheaper), so it is asked only at a pause (where it can change the decision) and never queued: one run at a time
per process, and a pause that finds it busy is decided by silence alone, as it would be without the model."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import soxr
from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features

from afo_voice_media.adapters.silero_vad import pipecat_data

MODEL_RATE = 16000
WINDOW_S = 8


class SmartTurn:
    def __init__(self, threshold: float = 0.5) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(pipecat_data("audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"),
                                             sess_options=options, providers=["CPUExecutionProvider"])
        self._threshold = threshold
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smart-turn")
        self._busy = False
        self.runs = 0
        self.skipped = 0

    async def finished(self, pcm: bytes, sample_rate: int) -> bool | None:
        """True: the turn is over; False: the caller is mid-thought; None: not asked (busy, or too little voice)."""
        if self._busy or len(pcm) < sample_rate // 5:  # under 100 ms of voice says nothing
            self.skipped += self._busy
            return None
        self._busy = True
        try:
            probability = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._probability, pcm, sample_rate)
        finally:
            self._busy = False
        self.runs += 1
        return probability > self._threshold

    def _probability(self, pcm: bytes, sample_rate: int) -> float:
        audio: npt.NDArray[np.float32] = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if sample_rate != MODEL_RATE:
            audio = soxr.resample(audio, sample_rate, MODEL_RATE)
        samples = WINDOW_S * MODEL_RATE
        audio = audio[-samples:] if len(audio) > samples else np.pad(audio, (samples - len(audio), 0))
        features = compute_whisper_log_mel_features(audio, do_normalize=True)
        output = self._session.run(None, {"input_features": features[np.newaxis].astype(np.float32)})
        return float(output[0][0].item())

    def close(self) -> None:
        self._executor.shutdown(wait=False)
