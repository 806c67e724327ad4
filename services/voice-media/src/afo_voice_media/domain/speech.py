"""What the call engine asks of a speech engine, whatever it is (an offline model, Deepgram, ElevenLabs).

Audio crosses these interfaces as 16-bit signed little-endian mono PCM at the rate the engine names (a phone
call's is 8000 Hz); an adapter converts to and from what its provider wants."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol


class SpeechError(Exception):
    """A speech provider failed (refused the key, went away, answered garbage): the call says so and goes on."""


@dataclass(frozen=True)
class Transcript:
    text: str
    # Seconds the provider took from being asked for the final words to giving them: the provider's own share
    # of a turn's latency, reported apart from the platform's.
    provider_s: float = 0.0


class SttSession(Protocol):
    """One caller's speech, utterance after utterance. The engine sends only what the caller says (from a
    little before voice activity starts to its end) and asks for the words once it decides the turn is over."""

    async def send(self, pcm: bytes) -> None: ...

    async def finish(self) -> Transcript:
        """The words of everything sent since the previous ``finish`` (empty text when nothing was said)."""
        ...

    async def close(self) -> None: ...


class SpeechToText(Protocol):
    name: str

    async def open(self, sample_rate: int, language: str, hints: Sequence[str]) -> SttSession:
        """``hints``: words the caller is likely to say that a general model gets wrong (the company's and its
        products' and people's names)."""
        ...


class TextToSpeech(Protocol):
    name: str

    def speak(self, text: str, sample_rate: int, voice: str | None) -> AsyncIterator[bytes]:
        """PCM chunks of ``text`` spoken, the first as soon as the provider has it (the engine starts playing
        it while the rest is made). Raises ``SpeechError`` when the provider fails."""
        ...
