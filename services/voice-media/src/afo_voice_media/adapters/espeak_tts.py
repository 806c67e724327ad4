"""Offline speech through espeak-ng: the voice a tenant gets without a provider key, and the caller's voice in
tests and bench/.

espeak-ng keeps its voice, callback and buffers in process-wide globals and is not thread-safe, so every
synthesis in the process runs on one worker thread, one utterance at a time. That is cheap: espeak speaks
~1000 times faster than real time here (~7 ms for 10 s of speech), so utterances barely queue. The library is
reached through ctypes from ``espeakng-loader``'s wheel (its ``libespeak-ng.so`` and data), loaded once, on
the worker, the first time anything is spoken."""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import espeakng_loader
import numpy as np
import soxr

from afo_voice_media.domain.speech import SpeechError

DEFAULT_VOICE = "en-us"
DEFAULT_WORDS_PER_MINUTE = 175  # espeak-ng's own default
# Audio reaches us in pieces of this many ms: the first can be played while espeak makes the rest.
_CHUNK_MS = 100
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_EE_OK = 0
_RATE = 1  # espeak_PARAMETER espeakRATE: words per minute
# t_espeak_callback: int (short *wav, int numsamples, espeak_EVENT *events); returning 1 aborts synthesis.
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# A chunk of PCM, the end (None), or why it failed.
_Emit = Callable[[bytes | BaseException | None], None]


@dataclass
class _Job:
    text: bytes
    voice: bytes
    words_per_minute: int
    sample_rate: int
    emit: _Emit
    abandoned: threading.Event


class _Espeak:
    """The process's espeak-ng. Only the worker thread touches the library."""

    def __init__(self) -> None:
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self._lib: ctypes.CDLL | None = None
        self._native_rate = 0
        self._voice: bytes | None = None
        self._words_per_minute: int | None = None
        self._job: _Job | None = None
        self._resampler: soxr.ResampleStream | None = None
        # Kept referenced for the life of the process: the library holds only its address.
        self._callback = _SynthCallback(self._on_audio)

    def _load(self) -> ctypes.CDLL:
        if self._lib is not None:
            return self._lib
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _CHUNK_MS, espeakng_loader.get_data_path().encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise SpeechError("espeak-ng failed to initialise")
        lib.espeak_SetSynthCallback(self._callback)
        self._lib, self._native_rate = lib, rate
        return lib

    def run(self, job: _Job) -> None:
        """Speak one utterance on the worker, handing each chunk to ``job.emit`` as espeak produces it."""
        if job.abandoned.is_set():  # interrupted while it waited for the worker
            return
        try:
            lib = self._load()
            if job.voice != self._voice:
                self._voice = None
                if lib.espeak_SetVoiceByName(job.voice) != _EE_OK:
                    raise SpeechError(f"espeak-ng has no voice {job.voice.decode(errors='replace')!r}")
                self._voice = job.voice
                self._words_per_minute = None  # a new voice starts at its own rate
            if job.words_per_minute != self._words_per_minute:
                lib.espeak_SetParameter(_RATE, job.words_per_minute, 0)
                self._words_per_minute = job.words_per_minute
            self._job = job
            if job.sample_rate != self._native_rate:
                self._resampler = soxr.ResampleStream(self._native_rate, job.sample_rate, 1, dtype="int16")
            status = lib.espeak_Synth(job.text, len(job.text) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
            if status != _EE_OK and not job.abandoned.is_set():
                raise SpeechError(f"espeak-ng failed to speak (error {status})")
            if self._resampler is not None:
                self._send(job, self._resampler.resample_chunk(np.zeros(0, np.int16), last=True))
            job.emit(None)
        except SpeechError as error:
            job.emit(error)
        except OSError as error:
            job.emit(SpeechError(f"espeak-ng could not be loaded: {error}"))
        finally:
            self._job, self._resampler = None, None

    def _on_audio(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        job = self._job
        if job is None or job.abandoned.is_set():
            return 1
        if count > 0:
            pcm = np.ctypeslib.as_array(wav, shape=(count,))
            self._send(job, pcm if self._resampler is None else self._resampler.resample_chunk(pcm))
        return 0

    @staticmethod
    def _send(job: _Job, pcm: np.ndarray) -> None:
        if pcm.size:
            job.emit(pcm.astype("<i2", copy=False).tobytes())


_engine: _Espeak | None = None
_engine_lock = threading.Lock()


def _espeak() -> _Espeak:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Espeak()
        return _engine


def _after_fork_in_child() -> None:
    """A forked worker process inherits espeak's memory but not the worker thread: without a new one, its
    first utterance would wait forever on an executor whose only thread is gone."""
    global _engine_lock
    _engine_lock = threading.Lock()
    if _engine is not None:
        _engine.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")


os.register_at_fork(after_in_child=_after_fork_in_child)


class EspeakTts:
    """``TextToSpeech`` on espeak-ng; ``voice`` is an espeak voice name ("en-us", "en" (British), "fr",
    "en-us+f3" for a variant, ...). Close the iterator (``aclose``) to stop speaking: espeak stops too."""

    name = "espeak"

    def __init__(self, default_voice: str = DEFAULT_VOICE, words_per_minute: int = DEFAULT_WORDS_PER_MINUTE) -> None:
        if not 80 <= words_per_minute <= 450:  # espeak-ng's range
            raise ValueError(f"espeak-ng speaks 80 to 450 words a minute, not {words_per_minute}")
        self._default_voice = default_voice
        self._words_per_minute = words_per_minute

    async def speak(self, text: str, sample_rate: int, voice: str | None) -> AsyncGenerator[bytes, None]:
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, not {sample_rate}")
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        abandoned = threading.Event()

        def emit(item: bytes | BaseException | None) -> None:
            if not abandoned.is_set():
                loop.call_soon_threadsafe(chunks.put_nowait, item)

        job = _Job(text.encode(), (voice or self._default_voice).encode(), self._words_per_minute, sample_rate, emit,
                   abandoned)
        engine = _espeak()
        done = loop.run_in_executor(engine.worker, engine.run, job)

        def surface(future: asyncio.Future[None]) -> None:
            # Anything but a SpeechError escaping the worker is a bug: it must reach the listener, not hang it.
            if not future.cancelled() and (error := future.exception()) is not None:
                chunks.put_nowait(error)

        done.add_done_callback(surface)
        try:
            while (item := await chunks.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # A listener that stops early (the caller barged in) stops espeak at its next chunk.
            abandoned.set()
