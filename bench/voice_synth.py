"""Caller speech for the voice benchmark: espeak-ng (the library ``espeakng_loader`` ships, through ctypes)
speaking a sentence, as 8 kHz μ-law the way a phone line carries it.

A harmonic buzz is cheaper but Silero takes it for speech only some of the time, and a caller the VAD cannot
hear measures nothing; espeak-ng's formant speech it hears every time. Synthesis takes a few milliseconds
per second of audio, so the load driver makes its handful of sentences once, before any call starts."""

from __future__ import annotations

import ctypes
import threading

import espeakng_loader
import numpy as np
import soxr

from afo_testkit import mulaw

_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1  # espeak_PARAMETER: espeakRATE, words per minute
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# Sentences Smart Turn v3 takes for finished ones (probability 0.65-0.98 at 190 words a minute, whatever the
# silence around them; at 150-170 some fall under 0.5), so a turn ends at the VAD's stop rather than at Smart
# Turn's 3 s fallback for a turn it thinks unfinished: that would measure Smart Turn, not the platform.
# Left out for that: "Do you have anything open on Tuesday afternoon?", "Wait, sorry, one more thing." and
# "Is there anything free on Tuesday afternoon?".
SENTENCES = [
    "Hi, I would like to book a cleaning for next week.",
    "How much is the professional plan per month?",
    "Please send me the price list by email.",
    "My name is Alex and I am calling about my order.",
    "Can you tell me your opening hours on Saturday?",
    "I think the second option works better for me.",
    "I would like to cancel my appointment.",
]
INTERRUPTION = "Sorry, I meant Friday."


class Espeak:
    """One espeak-ng engine for the process: the library keeps global state, so calls are serialised."""

    def __init__(self, voice: str = "en-us", words_per_minute: int = 190) -> None:
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.sample_rate = self._lib.espeak_Initialize(_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.sample_rate <= 0:
            raise RuntimeError("espeak-ng did not initialise")
        self._lib.espeak_SetVoiceByName(voice.encode())
        self._lib.espeak_SetParameter(_RATE, words_per_minute, 0)
        self._chunks: list[bytes] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library calls it later
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], samples: int, events: int | None) -> int:
        if samples > 0:
            self._chunks.append(ctypes.string_at(wav, samples * 2))
        return 0

    def pcm(self, text: str) -> bytes:
        """16-bit PCM at ``sample_rate``."""
        encoded = text.encode()
        with self._lock:
            self._chunks = []
            self._lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            return b"".join(self._chunks)

    def ulaw(self, text: str) -> bytes:
        """8 kHz μ-law with the leading and trailing silence cut: the utterance starts and ends with speech."""
        samples = np.frombuffer(self.pcm(text), dtype=np.int16)
        narrowband = soxr.resample(samples, self.sample_rate, mulaw.SAMPLE_RATE)
        loud = np.flatnonzero(np.abs(narrowband) > 300)
        if loud.size:
            narrowband = narrowband[loud[0]:loud[-1] + 1]
        return mulaw.encode(narrowband.astype(np.int16))
