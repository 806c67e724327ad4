"""Word error rate and cost of the offline speech-to-text engines on a phone call's audio.

    .venv/bin/python bench/stt_wer.py [--engines whisper,moonshine] [--errors] [--at-once 2]

The test set is what a lead says to a sales agent (booking times, names, company names, plans and prices,
phone numbers, "yes"/"no"/"okay", a spelled email), spoken by espeak-ng (EspeakTts), resampled to 8 kHz and
round-tripped through G.711 μ-law as a phone call delivers it, then sent to each engine in 20 ms frames as a
call's turn. Every sentence is transcribed twice: without hints, and with the agent's vocabulary (its
company's, products' and people's names) as hints. Text is normalised before scoring (case, punctuation,
"three" = "3", "p.m." = "pm", phone numbers digit by digit).

Prints, per engine: WER without and with hints, CPU seconds per second of audio (real-time factor, the
whole process's CPU while one utterance is transcribed at a time), p50/p95 seconds per utterance (the
engine's `provider_s`), model load time and the resident memory the model added (a second Whisper variant
shares what CTranslate2 allocated for the first: only the first row's figure is the whole cost).

With ``--at-once N``: every utterance ending at the same moment, N transcribed at a time by the shipped
engine — the wait a caller can meet when turns pile up."""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import re
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soxr

from afo_voice_media.adapters.espeak_tts import EspeakTts
from afo_voice_media.adapters.whisper_stt import WhisperStt
from afo_voice_media.domain.speech import SpeechToText, Transcript

PHONE_RATE = 8000
FRAME_BYTES = PHONE_RATE // 50 * 2
# The agent's vocabulary: its company, products and the people a lead is booked with.
HINTS = ["Zyntrix", "Zyntrix Pulse", "Zyntrix Flow", "Priya Raman", "Tomasz Kowalczyk", "Ava"]
SENTENCES = [
    "Hi, I saw your ad for Zyntrix and wanted to learn more.",
    "Can we book a meeting next Tuesday at 3 pm?",
    "How much is the professional plan?",
    "Yes.",
    "No.",
    "Okay, that works for me.",
    "My name is Daniel Brooks.",
    "I work at Acme Logistics.",
    "My number is 4 1 5, 5 5 5, 0 1 2 3.",
    "Is there a discount if we pay annually?",
    "We have about 25 people on the sales team.",
    "Could I speak with Priya Raman?",
    "Does Zyntrix Pulse integrate with Salesforce?",
    "Thursday morning around 10 would be better.",
    "My email is dan at acme dot io, that is D A N.",
    "What does the starter plan include?",
    "Can you send me the pricing by email?",
    "We are a small agency called Hollow Pine Studios.",
    "Our budget is around 2000 dollars a month.",
    "Sure, go ahead.",
    "Sorry, can you repeat that?",
    "Friday afternoon at 2 30 if possible.",
    "Is Tomasz Kowalczyk still my account manager?",
    "We need it running before the end of March.",
    "Do you offer a free trial?",
    "How long does onboarding take with Zyntrix Flow?",
    "I am not the decision maker, my boss is.",
    "Please call me back tomorrow at 9 am.",
    "That is too expensive for us right now.",
    "Can I upgrade from the starter plan to pro later?",
    "We currently use HubSpot as our CRM.",
    "What time zone are you in?",
    "Yes, that time is perfect.",
    "No thanks, not interested.",
    "Is the Zyntrix Pulse plan 49 dollars per user?",
    "Priya Raman told me to call you.",
]


class Engine(SpeechToText, Protocol):
    async def load(self) -> None: ...


class MoonshineTiny:
    """Moonshine tiny-en from moonshine-voice 0.1.0's wheel, measured beside Whisper but not shipped (see
    docs/voice-offline-speech.md): a session of it, the turn's PCM at 16 kHz in one call. It takes no hints."""

    name = "moonshine"

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._model: Any = None

    def _load(self) -> None:
        os.environ["MOONSHINE_ORT_SINGLE_THREAD"] = "1"  # one thread per transcription, as Whisper is given
        from moonshine_voice import ModelArch, get_model_path
        from moonshine_voice.transcriber import Transcriber

        self._model = Transcriber(str(get_model_path("tiny-en")), model_arch=ModelArch.TINY)

    async def load(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    async def open(self, sample_rate: int, language: str, hints: Sequence[str]) -> MoonshineSession:
        return MoonshineSession(self, sample_rate)

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._transcribe, pcm, sample_rate)

    def _transcribe(self, pcm: bytes, sample_rate: int) -> str:
        audio = soxr.resample(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0, sample_rate, 16000)
        lines = self._model.transcribe_without_streaming(audio, 16000).lines
        return " ".join(str(line.text).strip() for line in lines).strip()


class MoonshineSession:
    def __init__(self, stt: MoonshineTiny, sample_rate: int) -> None:
        self._stt, self._rate, self._pcm = stt, sample_rate, bytearray()

    async def send(self, pcm: bytes) -> None:
        self._pcm += pcm

    async def finish(self) -> Transcript:
        started = time.perf_counter()
        pcm, self._pcm = bytes(self._pcm), bytearray()
        text = await self._stt.transcribe(pcm, self._rate)
        return Transcript(text, time.perf_counter() - started)

    async def close(self) -> None:
        self._pcm = bytearray()


ENGINES: dict[str, Callable[[], Engine]] = {
    "whisper": lambda: WhisperStt(max_concurrent=1),
    "whisper-greedy": lambda: WhisperStt(max_concurrent=1, beam_size=1),
    "moonshine": MoonshineTiny,
}

_NUMBER_WORDS = {
    word: value
    for values, words in (
        (
            range(20),
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
            " fifteen sixteen seventeen eighteen nineteen",
        ),
        (range(20, 100, 10), "twenty thirty forty fifty sixty seventy eighty ninety"),
    )
    for value, word in zip(values, words.split(), strict=True)
}
_SCALES = {"hundred": 100, "thousand": 1000}


def _numbers_as_digits(words: list[str]) -> list[str]:
    """Number words to numerals ("twenty five" -> "25"), then every numeral digit by digit, so that "415 555",
    "four one five five five five" and "415555" score the same."""
    out: list[str] = []
    value: int | None = None
    for i, word in enumerate(words):
        n = _NUMBER_WORDS.get(word)
        if n is not None and value is not None:
            tens_then_unit = value % 100 >= 20 and value % 10 == 0 and n < 10
            if (value >= 100 and value % 100 == 0 and n < 100) or tens_then_unit:
                value += n
                continue
            out.append(str(value))
        if n is not None:
            value = n
        elif word in _SCALES and value is not None:
            value = value * 1000 if word == "thousand" else value // 1000 * 1000 + value % 1000 * 100
        elif word == "and" and value is not None and i + 1 < len(words) and words[i + 1] in _NUMBER_WORDS:
            continue
        else:
            if value is not None:
                out.append(str(value))
                value = None
            out.append(word)
    if value is not None:
        out.append(str(value))
    return [piece for word in out for piece in (list(word) if word.isdigit() else [word])]


def normalise(text: str) -> list[str]:
    text = text.lower().replace("p.m.", "pm").replace("a.m.", "am").replace("%", " percent")
    text = re.sub(r"\$(\d[\d,]*)", r"\1 dollars", text)
    text = re.sub(r"(\d),(\d)", r"\1\2", text)
    text = re.sub(r"(?<=\w)\.(?=\w)", " dot ", text).replace("@", " at ")
    for short, full in (("i'm", "i am"), ("that's", "that is"), ("it's", "it is"), ("what's", "what is")):
        text = text.replace(short, full)
    return _numbers_as_digits(re.findall(r"[a-z0-9]+", text.replace("'", "")))


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Substitutions + deletions + insertions (Levenshtein distance over words)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


@functools.cache
def _mulaw_tables() -> tuple[np.ndarray, np.ndarray]:
    """G.711 μ-law: every int16 to its byte, every byte back to int16 (the reference algorithm, vectorised)."""
    samples = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(samples < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(samples), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encode = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    decoded = (((codes & 0x0F) << 3) + 0x84 << ((codes >> 4) & 0x07)) - 0x84
    decode = np.where(codes & 0x80, -decoded, decoded).astype(np.int16)
    return encode, decode


async def phone_audio(tts: EspeakTts, text: str) -> bytes:
    """``text`` as a phone call delivers it: 8 kHz, through μ-law and back."""
    spoken = b"".join([chunk async for chunk in tts.speak(text, 16000, None)])
    pcm = soxr.resample(np.frombuffer(spoken, "<i2"), 16000, PHONE_RATE)
    encode, decode = _mulaw_tables()
    return bytes(decode[encode[pcm.astype(np.int32) + 32768]].astype("<i2").tobytes())


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


@dataclass
class Run:
    errors: int = 0
    words: int = 0
    misses: list[str] = field(default_factory=list)


@dataclass
class Result:
    engine: str
    plain: Run
    hinted: Run
    cpu_s: float
    audio_s: float
    latencies: list[float]
    load_s: float
    rss_added_mb: float


async def _transcribe(stt: Engine, audio: bytes, hints: Sequence[str]) -> tuple[str, float, float]:
    session = await stt.open(PHONE_RATE, "en", hints)
    for start in range(0, len(audio), FRAME_BYTES):
        await session.send(audio[start : start + FRAME_BYTES])
    cpu = time.process_time()
    transcript = await session.finish()
    cpu = time.process_time() - cpu
    await session.close()
    return transcript.text, transcript.provider_s, cpu


async def measure(name: str, clips: Sequence[tuple[str, bytes]]) -> Result:
    rss = rss_mb()
    started = time.perf_counter()
    stt = ENGINES[name]()
    await stt.load()
    load_s = time.perf_counter() - started
    await _transcribe(stt, clips[0][1], [])  # warm-up: first-run allocations
    plain, hinted, latencies, cpu_s = Run(), Run(), [], 0.0
    for run, hints in ((plain, []), (hinted, HINTS)):
        for text, audio in clips:
            heard, provider_s, cpu = await _transcribe(stt, audio, hints)
            reference, hypothesis = normalise(text), normalise(heard)
            errors = word_errors(reference, hypothesis)
            run.errors, run.words = run.errors + errors, run.words + len(reference)
            if errors:
                run.misses.append(f"{errors} in {text!r}: heard {heard!r}")
            if not hints:
                latencies.append(provider_s)
                cpu_s += cpu
    audio_s = sum(len(audio) for _, audio in clips) / 2 / PHONE_RATE
    return Result(name, plain, hinted, cpu_s, audio_s, latencies, load_s, rss_mb() - rss)


async def throughput(clips: Sequence[tuple[str, bytes]], workers: int) -> str:
    """Every clip as a turn ending at the same moment on its own call, through the shipped Whisper engine with
    ``workers`` transcriptions at a time: how long the last caller waits, and what that carries."""
    stt = WhisperStt(max_concurrent=workers)
    await stt.load()
    await _transcribe(stt, clips[0][1], [])
    cpu, started = time.process_time(), time.perf_counter()
    heard = await asyncio.gather(*(_transcribe(stt, audio, HINTS) for _, audio in clips))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    q = statistics.quantiles([provider_s for _, provider_s, _ in heard], n=100, method="inclusive")
    audio_s = sum(len(audio) for _, audio in clips) / 2 / PHONE_RATE
    return (
        f"whisper, {len(clips)} turns ending at once, {workers} at a time: {wall:.1f} s for all"
        f" ({audio_s / wall:.1f} s of speech per second, CPU {cpu / wall:.2f} cores),"
        f" provider_s p50 {q[49]:.2f} s, p95 {q[94]:.2f} s"
    )


def table(results: Sequence[Result], clips: int, audio_s: float) -> str:
    lines = [
        f"{clips} utterances, {audio_s:.1f} s of 8 kHz μ-law speech (espeak-ng), one utterance at a time",
        "  engine          WER    WER hints  CPU s/audio s  p50 s  p95 s  load s  RSS added MB",
    ]
    for r in results:
        q = statistics.quantiles(r.latencies, n=100, method="inclusive")
        lines.append(
            f"  {r.engine:<14} {r.plain.errors / r.plain.words:>5.3f}  {r.hinted.errors / r.hinted.words:>9.3f}"
            f"  {r.cpu_s / r.audio_s:>13.3f}  {q[49]:>5.3f}  {q[94]:>5.3f}  {r.load_s:>6.2f}  {r.rss_added_mb:>12.0f}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}")
    parser.add_argument("--errors", action="store_true", help="list every utterance with a wrong word")
    parser.add_argument(
        "--at-once", type=int, default=0, metavar="N", help="also: all turns at once, N transcriptions at a time"
    )
    args = parser.parse_args()
    tts = EspeakTts()
    clips = [(text, await phone_audio(tts, text)) for text in SENTENCES]
    results = []
    for name in args.engines.split(","):
        result = await measure(name, clips)
        results.append(result)
        if args.errors:
            for label, run in (("plain", result.plain), ("hints", result.hinted)):
                print("\n".join(f"  {name} {label}: {miss}" for miss in run.misses))
    print(table(results, len(clips), sum(len(audio) for _, audio in clips) / 2 / PHONE_RATE))
    if args.at_once:
        print(await throughput(clips, args.at_once))


if __name__ == "__main__":
    asyncio.run(main())
