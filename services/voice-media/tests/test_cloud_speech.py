"""The cloud speech adapters against local servers speaking Deepgram's live WebSocket protocol and ElevenLabs'
streaming text-to-speech endpoint: words across utterances, hints, refused keys, servers that go away or stall,
keep-alive on a silent line, audio chunks as they come at the rate asked for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from afo_testkit.deepgram_server import Fault, FakeDeepgram
from afo_voice_media.adapters.deepgram_stt import DeepgramStt
from afo_voice_media.domain.speech import SpeechError

RATE = 8000
FRAME = bytes(2 * RATE // 50)  # 20 ms of PCM16 at 8 kHz, as a phone call's frames come


async def speak(session: object, seconds: float) -> None:
    for _ in range(round(seconds * 50)):
        await session.send(FRAME)  # type: ignore[attr-defined]


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    async with FakeDeepgram() as server:
        yield server


def stt(server: FakeDeepgram, **options: float) -> DeepgramStt:
    return DeepgramStt(server.api_key, base_url=server.base_url, **options)


async def test_words_of_two_utterances_each_finalized(deepgram: FakeDeepgram) -> None:
    deepgram.transcripts = ["Book a meeting", "next Tuesday at 3 pm.", "How much is the professional plan?"]
    deepgram.final_every_s = 0.5  # Deepgram finalises long speech on its own: the first turn gets two finals
    deepgram.finalize_delay_s = 0.05
    session = await stt(deepgram).open(RATE, "en", [])
    await speak(session, 0.7)
    first = await session.finish()
    await speak(session, 0.3)
    second = await session.finish()
    await session.close()

    assert first.text == "Book a meeting next Tuesday at 3 pm."
    assert second.text == "How much is the professional plan?"
    assert 0.05 <= first.provider_s < 1.0 and 0.05 <= second.provider_s < 1.0
    [connection] = deepgram.connections
    assert len(connection.controls_of("Finalize")) == 2
    assert len(connection.audio) == 50 * len(FRAME)
    assert connection.controls_of("CloseStream") and connection.closed == (1000, "")


async def test_the_stream_is_opened_with_the_documented_parameters_and_hints_as_key_terms(
        deepgram: FakeDeepgram) -> None:
    session = await stt(deepgram).open(16000, "en-US", ["Acme", " Zephyr Pro ", "Acme", ""])
    await session.close()

    [connection] = deepgram.connections
    assert {k: v for k, v in connection.query.items() if k != "keyterm"} == {
        "encoding": ["linear16"], "sample_rate": ["16000"], "channels": ["1"], "model": ["nova-3"],
        "language": ["en-US"], "interim_results": ["false"], "punctuate": ["true"], "smart_format": ["true"]}
    assert connection.query["keyterm"] == ["Acme", "Zephyr Pro"]


async def test_older_models_get_hints_as_keywords(deepgram: FakeDeepgram) -> None:
    session = await DeepgramStt(deepgram.api_key, deepgram.base_url, model="nova-2").open(RATE, "en", ["Acme"])
    await session.close()
    assert deepgram.connections[0].query["keywords"] == ["Acme"]
    assert "keyterm" not in deepgram.connections[0].query


async def test_a_refused_key_is_a_speech_error_with_deepgrams_reason(deepgram: FakeDeepgram) -> None:
    with pytest.raises(SpeechError, match=r"\(401\): Invalid credentials"):
        await DeepgramStt("wrong-key", deepgram.base_url).open(RATE, "en", [])
    assert deepgram.connections == []


async def test_an_unreachable_deepgram_is_a_speech_error() -> None:
    async with FakeDeepgram() as server:
        url = server.base_url
    with pytest.raises(SpeechError, match="could not be reached"):
        await DeepgramStt("key", url).open(RATE, "en", [])


async def test_nothing_said_is_empty_without_asking_deepgram(deepgram: FakeDeepgram) -> None:
    session = await stt(deepgram).open(RATE, "en", [])
    assert (await session.finish()).text == ""
    await session.close()
    assert deepgram.connections[0].controls_of("Finalize") == []


@pytest.mark.parametrize("kind", ["drop", "close", "garbage"])
async def test_a_stream_that_breaks_mid_utterance_fails_that_utterance_and_the_next_one_reconnects(
        deepgram: FakeDeepgram, kind: str) -> None:
    deepgram.recognise = lambda audio: f"{len(audio)} bytes"
    deepgram.faults = [Fault(after_bytes=10 * len(FRAME), kind=kind)]  # type: ignore[arg-type]
    session = await stt(deepgram).open(RATE, "en", [])
    with pytest.raises(SpeechError):
        async with asyncio.timeout(2):
            await speak(session, 0.4)
            await session.finish()
    await speak(session, 0.2)
    assert (await session.finish()).text == f"{10 * len(FRAME)} bytes"
    await session.close()
    assert len(deepgram.connections) == 2


async def test_send_after_the_drop_raises_until_the_utterance_ends(deepgram: FakeDeepgram) -> None:
    deepgram.faults = [Fault(after_bytes=len(FRAME), kind="drop")]
    session = await stt(deepgram).open(RATE, "en", [])
    await session.send(FRAME)
    await asyncio.sleep(0.2)  # the reader has seen the connection go
    with pytest.raises(SpeechError, match="closed the stream"):
        await session.send(FRAME)
    with pytest.raises(SpeechError):
        await session.send(FRAME)
    with pytest.raises(SpeechError):
        await session.finish()
    assert len(deepgram.connections) == 1
    await session.close()


async def test_a_finalize_left_unanswered_times_out_and_the_next_utterance_reconnects(
        deepgram: FakeDeepgram) -> None:
    deepgram.recognise = lambda audio: f"{len(audio)} bytes"
    deepgram.finalize_delay_s = 0.5
    session = await stt(deepgram, finalize_timeout_s=0.2).open(RATE, "en", [])
    await speak(session, 0.1)
    started = time.monotonic()
    with pytest.raises(SpeechError, match="did not finalise within 0.2 s"):
        await session.finish()
    assert time.monotonic() - started < 0.45
    deepgram.finalize_delay_s = 0.0
    await speak(session, 0.2)
    assert (await session.finish()).text == f"{10 * len(FRAME)} bytes"
    await session.close()
    assert len(deepgram.connections) == 2


async def test_keepalive_holds_a_silent_line_open(deepgram: FakeDeepgram) -> None:
    deepgram.transcripts = ["hello", "still there"]
    deepgram.idle_timeout_s = 0.3
    session = await stt(deepgram, keepalive_s=0.1).open(RATE, "en", [])
    await speak(session, 0.1)
    assert (await session.finish()).text == "hello"
    await asyncio.sleep(0.8)
    await speak(session, 0.1)
    assert (await session.finish()).text == "still there"
    await session.close()
    [connection] = deepgram.connections
    assert len(connection.controls_of("KeepAlive")) >= 5


async def test_a_line_closed_for_silence_is_reopened_at_the_next_utterance_without_an_error(
        deepgram: FakeDeepgram) -> None:
    deepgram.transcripts = ["hello", "still there"]
    deepgram.idle_timeout_s = 0.2
    session = await stt(deepgram, keepalive_s=10).open(RATE, "en", [])
    await speak(session, 0.1)
    assert (await session.finish()).text == "hello"
    await asyncio.sleep(0.5)
    assert deepgram.connections[0].closed is not None and deepgram.connections[0].closed[0] == 1011
    await speak(session, 0.1)
    assert (await session.finish()).text == "still there"
    await session.close()
    assert len(deepgram.connections) == 2


async def test_a_key_refused_on_reconnect_fails_the_utterance_once_not_every_frame(deepgram: FakeDeepgram) -> None:
    deepgram.idle_timeout_s = 0.1
    session = await stt(deepgram, keepalive_s=10).open(RATE, "en", [])
    await asyncio.sleep(0.3)
    deepgram.api_key = "rotated"
    with pytest.raises(SpeechError, match="401"):
        await session.send(FRAME)
    with pytest.raises(SpeechError, match="401"):
        await session.send(FRAME)
    with pytest.raises(SpeechError):
        await session.finish()
    assert len(deepgram.connections) == 1
    await session.close()
