"""Caller speech for the voice benchmark: espeak-ng (voice-media's own ``EspeakTts``) speaking a sentence, as
8 kHz μ-law the way a phone line carries it.

A harmonic buzz is cheaper but Silero takes it for speech only some of the time, and a caller the VAD cannot
hear measures nothing; espeak-ng's formant speech it hears every time. Synthesis takes a few milliseconds
per second of audio, so the load driver makes its handful of sentences once, before any call starts."""

from __future__ import annotations

import asyncio

import numpy as np

from afo_voice_media.adapters.espeak_tts import EspeakTts
from afo_voice_media.domain.audio import PHONE_RATE, pcm_to_ulaw

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


async def _caller_ulaw(text: str, words_per_minute: int) -> bytes:
    pcm = b"".join([chunk async for chunk in EspeakTts(words_per_minute=words_per_minute).speak(text, PHONE_RATE,
                                                                                                None)])
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples) > 300)
    if loud.size:
        samples = samples[loud[0]:loud[-1] + 1]
    return pcm_to_ulaw(samples)


def caller_speech(texts: list[str], words_per_minute: int = 190) -> list[bytes]:
    """Each text as 8 kHz μ-law with its leading and trailing silence cut: an utterance starts and ends with
    speech."""
    async def all_of() -> list[bytes]:
        return [await _caller_ulaw(text, words_per_minute) for text in texts]

    return asyncio.run(all_of())
