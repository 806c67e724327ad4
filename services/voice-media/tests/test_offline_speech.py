"""The offline speech engines on real audio: espeak-ng speaks, Whisper tiny.en hears it at a phone call's 8 kHz.

The sentences are ones Whisper hears right from espeak-ng in every run (espeak's pitch flutter carries over
from one utterance to the next, so no two renderings are byte-identical); assertions are on the words that
carry the meaning, not on punctuation or casing."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import time
from multiprocessing.queues import Queue
from pathlib import Path

import numpy as np
import pytest

from afo_voice_media.adapters.espeak_tts import EspeakTts
from afo_voice_media.adapters.whisper_stt import WhisperStt, vocabulary_prompt
from afo_voice_media.domain.speech import SpeechError, SpeechToText, TextToSpeech

PHONE_RATE = 8000
FRAME_BYTES = PHONE_RATE // 50 * 2
HINTS = ["Zyntrix", "Zyntrix Pulse", "Priya Raman"]


@pytest.fixture(scope="module")
def stt() -> SpeechToText:
    """One model for the module, as one serves a whole process."""
    return WhisperStt(max_concurrent=2)


async def speak(text: str, rate: int = PHONE_RATE, voice: str | None = None) -> bytes:
    tts: TextToSpeech = EspeakTts()
    return b"".join([chunk async for chunk in tts.speak(text, rate, voice)])


async def hear(stt: SpeechToText, pcm: bytes, hints: list[str] | None = None) -> set[str]:
    session = await stt.open(PHONE_RATE, "en-US", hints or [])
    for start in range(0, len(pcm), FRAME_BYTES):
        await session.send(pcm[start : start + FRAME_BYTES])
    transcript = await session.finish()
    await session.close()
    assert transcript.provider_s > 0
    return words(transcript.text)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_espeak_speaks_audible_pcm_of_a_sentence_length_at_the_rate_asked(rate: int) -> None:
    pcm = np.frombuffer(await speak("Can we book a meeting next Tuesday at three?", rate), "<i2")

    seconds = pcm.size / rate
    assert 1.5 < seconds < 5.0
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > 1000
    # The same speech at either rate: resampled, not sped up or cut.
    other = np.frombuffer(await speak("Can we book a meeting next Tuesday at three?", 24000 - rate), "<i2")
    assert other.size / (24000 - rate) == pytest.approx(seconds, rel=0.02)


async def test_espeak_hands_over_the_first_chunk_long_before_the_whole_utterance() -> None:
    started = time.perf_counter()
    arrivals = []
    async for _chunk in EspeakTts().speak("We would like to book a demo next week. " * 30, PHONE_RATE, None):
        arrivals.append(time.perf_counter() - started)

    assert len(arrivals) > 20
    assert arrivals[0] < arrivals[-1] / 5


async def test_a_listener_that_stops_early_frees_espeak_for_the_next_utterance() -> None:
    long_reply = "This reply is interrupted by the caller. " * 300
    started = time.perf_counter()
    await speak(long_reply)
    whole = time.perf_counter() - started

    speech = EspeakTts().speak(long_reply, PHONE_RATE, None)
    await anext(speech)
    await speech.aclose()
    started = time.perf_counter()
    assert await speak("Sorry, go ahead.")

    assert time.perf_counter() - started < whole / 4


def _speak_in_forked_child(result: Queue[int]) -> None:
    result.put(len(asyncio.run(speak("Hello from a worker process."))))


async def test_espeak_speaks_in_a_process_forked_after_it_spoke() -> None:
    assert await speak("Hello from the parent.")
    fork = multiprocessing.get_context("fork")
    result: Queue[int] = fork.Queue()
    child = fork.Process(target=_speak_in_forked_child, args=(result,))
    child.start()
    try:
        assert result.get(timeout=10) > PHONE_RATE
    finally:
        child.join(timeout=5)
        child.kill()


async def test_an_unknown_voice_is_a_speech_error_and_espeak_keeps_working() -> None:
    with pytest.raises(SpeechError, match="no voice 'xx-nobody'"):
        await speak("Hello", voice="xx-nobody")

    assert len(await speak("Hello", voice="en-us+f3")) > 0.2 * PHONE_RATE * 2


async def test_whisper_hears_an_espeak_sentence_on_a_phone_line(stt: SpeechToText) -> None:
    assert {"running", "end", "march"} <= await hear(stt, await speak("We need it running before the end of March."))
    assert {"much", "professional", "plan"} <= await hear(stt, await speak("How much is the professional plan?"))


async def test_hints_make_whisper_spell_the_agents_names(stt: SpeechToText) -> None:
    assert "zyntrix" in await hear(stt, await speak("I would like to try Zyntrix."), HINTS)
    assert {"priya", "raman"} <= await hear(stt, await speak("Could I speak with Priya Raman?"), HINTS)


def test_hints_become_one_sentence_without_repeats_or_blanks() -> None:
    assert vocabulary_prompt(["Zyntrix", " ", "Priya Raman", "Zyntrix", "Ava"]) == (
        "A phone call about Zyntrix, Priya Raman and Ava."
    )
    assert vocabulary_prompt(["Zyntrix"]) == "A phone call about Zyntrix."
    assert vocabulary_prompt(["", "  "]) is None
    long = vocabulary_prompt([f"Name{i:03d}" for i in range(200)])
    assert long is not None and len(long) < 450 and "Name000" in long


async def test_no_speech_is_empty_text_without_running_the_model(tmp_path: Path) -> None:
    # No model where this one looks: transcribing anything would fail.
    stt = WhisperStt(model_dir=tmp_path / "absent")
    session = await stt.open(PHONE_RATE, "en", HINTS)

    assert (await session.finish()).text == ""
    await session.send(b"\x01\x02" * int(0.1 * PHONE_RATE) + b"\x03")  # 0.1 s and a stray odd byte
    transcript = await session.finish()
    assert transcript.text == "" and transcript.provider_s == 0.0


@pytest.mark.parametrize("model", ["absent", "empty"])
async def test_a_missing_model_is_a_speech_error(tmp_path: Path, model: str) -> None:
    (tmp_path / "empty").mkdir()
    stt = WhisperStt(model_dir=tmp_path / model)
    session = await stt.open(PHONE_RATE, "en", [])
    await session.send(await speak("Hello there."))

    with pytest.raises(SpeechError, match="Whisper failed"):
        await session.finish()
    with pytest.raises(SpeechError):
        await stt.load()


async def test_finish_starts_the_next_turn_empty(stt: SpeechToText) -> None:
    session = await stt.open(PHONE_RATE, "en", [])
    await session.send(await speak("How much is the professional plan?"))
    assert (await session.finish()).text

    assert (await session.finish()).text == ""


async def test_concurrent_calls_each_hear_only_their_own_caller(stt: SpeechToText) -> None:
    first, second = (
        await speak("We need it running before the end of March."),
        await speak("How much is the professional plan?"),
    )
    a, b = await stt.open(PHONE_RATE, "en", []), await stt.open(PHONE_RATE, "en", [])
    for start in range(0, max(len(first), len(second)), FRAME_BYTES):
        await a.send(first[start : start + FRAME_BYTES])
        await b.send(second[start : start + FRAME_BYTES])

    heard_a, heard_b = await asyncio.gather(a.finish(), b.finish())

    words_a, words_b = words(heard_a.text), words(heard_b.text)
    assert "running" in words_a and "professional" not in words_a
    assert "professional" in words_b and "running" not in words_b


async def test_whisper_refuses_a_language_it_does_not_know(stt: SpeechToText) -> None:
    with pytest.raises(SpeechError, match="English only"):
        await stt.open(PHONE_RATE, "fr", [])
