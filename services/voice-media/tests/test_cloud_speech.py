"""The cloud speech adapters against local servers speaking Deepgram's live WebSocket protocol and ElevenLabs'
streaming text-to-speech endpoint: words across utterances, hints, refused keys, servers that go away or stall,
keep-alive on a silent line, audio chunks as they come at the rate asked for; each request a client span with the
provider's status and nothing secret."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Literal

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from websockets.asyncio.client import connect

from afo_common import telemetry
from afo_testkit.deepgram_server import FakeDeepgram, Fault
from afo_testkit.elevenlabs_server import DEFAULT_VOICE, Cut, Failure, FakeElevenLabs
from afo_testkit.spans import exported as exported
from afo_voice_media.adapters.deepgram_stt import DeepgramSession, DeepgramStt
from afo_voice_media.adapters.elevenlabs_tts import DEFAULT_VOICE as ADAPTER_DEFAULT_VOICE
from afo_voice_media.adapters.elevenlabs_tts import ElevenLabsTts
from afo_voice_media.domain.speech import SpeechError, SpeechToText, TextToSpeech

RATE = 8000
FRAME = bytes(2 * RATE // 50)  # 20 ms of PCM16 at 8 kHz, as a phone call's frames come


async def speak(session: DeepgramSession, seconds: float) -> None:
    for _ in range(round(seconds * 50)):
        await session.send(FRAME)


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    async with FakeDeepgram() as server:
        yield server


async def test_the_adapters_are_the_engines_speech_interfaces() -> None:
    """mypy checks the assignment: each adapter has every method of its interface, with the same types."""
    tts = ElevenLabsTts("key")
    engines: tuple[SpeechToText, TextToSpeech] = (DeepgramStt("key"), tts)
    assert [engine.name for engine in engines] == ["deepgram", "elevenlabs"]
    await tts.aclose()


def stt(server: FakeDeepgram, *, keepalive_s: float = 4.0, finalize_timeout_s: float = 3.0) -> DeepgramStt:
    return DeepgramStt(server.api_key, server.base_url, keepalive_s=keepalive_s, finalize_timeout_s=finalize_timeout_s)


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


async def test_the_stand_in_sends_interim_results_when_asked(deepgram: FakeDeepgram) -> None:
    """pipecat's Deepgram service (the bench's baseline) asks for interim results; the adapter does not."""
    deepgram.transcripts = ["book a meeting tomorrow"]
    url = f"{deepgram.base_url}/v1/listen?encoding=linear16&sample_rate=8000&model=nova-3&interim_results=true"
    async with connect(url, additional_headers={"Authorization": f"Token {deepgram.api_key}"}) as ws:
        for _ in range(30):
            await ws.send(FRAME)
        await ws.send(json.dumps({"type": "Finalize"}))
        messages = [json.loads(await ws.recv()) for _ in range(3)]
    assert [(m["is_final"], m["from_finalize"], m["channel"]["alternatives"][0]["transcript"]) for m in messages] == [
        (False, False, "book"), (False, False, "book a"), (True, True, "book a meeting tomorrow")]
    assert messages[2]["duration"] == 0.6 and messages[2]["channel"]["alternatives"][0]["words"][0]["word"] == "book"


async def test_a_stream_deepgram_cannot_decode_is_refused_with_its_reason(deepgram: FakeDeepgram) -> None:
    with pytest.raises(SpeechError, match=r"\(400\): sample_rate must be given"):
        await stt(deepgram).open(4000, "en", [])


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
        deepgram: FakeDeepgram, kind: Literal["drop", "close", "garbage"]) -> None:
    deepgram.recognise = lambda audio: f"{len(audio)} bytes"
    deepgram.faults = [Fault(after_bytes=10 * len(FRAME), kind=kind)]
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
    with pytest.raises(SpeechError, match=r"did not finalise within 0\.2 s"):
        await session.finish()
    assert time.monotonic() - started < 0.49  # before the stand-in's answer
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


@pytest.fixture
async def elevenlabs() -> AsyncIterator[FakeElevenLabs]:
    async with FakeElevenLabs(voices={DEFAULT_VOICE, "agent-voice"}) as server:
        yield server


@pytest.fixture
async def tts(elevenlabs: FakeElevenLabs) -> AsyncIterator[ElevenLabsTts]:
    adapter = ElevenLabsTts(elevenlabs.api_key, base_url=elevenlabs.base_url, timeout_s=1.0)
    yield adapter
    await adapter.aclose()


async def timed_chunks(speech: AsyncIterator[bytes]) -> list[tuple[float, bytes]]:
    return [(time.monotonic(), chunk) async for chunk in speech]


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
async def test_speech_streams_in_chunks_at_the_rate_asked(
        elevenlabs: FakeElevenLabs, tts: ElevenLabsTts, rate: int) -> None:
    elevenlabs.chunk_interval_s = 0.05
    text = "Thanks for calling Acme."  # 24 characters: 1.2 s of speech at the stand-in's 50 ms a character
    started = time.monotonic()
    chunks = await timed_chunks(tts.speak(text, rate, "agent-voice"))

    assert sum(len(c) for _, c in chunks) == 2 * round(1.2 * rate)
    assert all(len(c) % 2 == 0 for _, c in chunks)
    first_at, last_at = chunks[0][0], chunks[-1][0]
    assert first_at - started < (last_at - started) / 3  # the first chunk came long before the last
    [request] = elevenlabs.requests
    assert (request.voice_id, request.output_format) == ("agent-voice", f"pcm_{rate}")
    assert request.body["text"] == text and request.body["model_id"] == "eleven_flash_v2_5"


async def test_the_first_chunk_waits_only_for_elevenlabs(elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    elevenlabs.first_byte_delay_s = 0.3
    started = time.monotonic()
    speech = tts.speak("Hello there.", 8000, None)
    await anext(speech)
    assert 0.3 <= time.monotonic() - started < 1.0
    assert await timed_chunks(speech)


async def test_speech_the_engine_stops_listening_to_stops_coming(
        elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    elevenlabs.chunk_interval_s = 0.05
    text = "A long answer the caller interrupts after its first words. " * 2
    speech = tts.speak(text, 8000, None)
    assert isinstance(speech, AsyncGenerator)
    await anext(speech)
    await speech.aclose()
    await asyncio.sleep(0.3)
    [request] = elevenlabs.requests
    sent = request.sent_bytes
    await asyncio.sleep(0.3)
    assert request.sent_bytes == sent < len(text) * 0.05 * 8000 * 2 / 4  # the stand-in stopped early on


async def test_no_voice_speaks_with_the_documented_default(elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    assert ADAPTER_DEFAULT_VOICE == DEFAULT_VOICE
    assert await timed_chunks(tts.speak("Hi.", 8000, None))
    assert elevenlabs.requests[0].voice_id == DEFAULT_VOICE


async def test_nothing_to_say_asks_for_nothing(elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    assert await timed_chunks(tts.speak("  ", 8000, None)) == []
    assert elevenlabs.requests == []


async def test_a_rate_elevenlabs_does_not_offer_is_refused_before_asking(
        elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    with pytest.raises(SpeechError, match="11025 Hz"):
        await timed_chunks(tts.speak("Hello.", 11025, None))
    assert elevenlabs.requests == []


async def test_a_refused_key_is_a_speech_error_with_elevenlabs_message(elevenlabs: FakeElevenLabs) -> None:
    adapter = ElevenLabsTts("wrong-key", base_url=elevenlabs.base_url)
    with pytest.raises(SpeechError, match=r"\(401\): Invalid API key"):
        await timed_chunks(adapter.speak("Hello.", 8000, None))
    await adapter.aclose()


async def test_an_unknown_voice_is_a_speech_error_with_elevenlabs_message(tts: ElevenLabsTts) -> None:
    with pytest.raises(SpeechError, match=r"\(404\): A voice with the voice_id nobody was not found"):
        await timed_chunks(tts.speak("Hello.", 8000, "nobody"))


async def test_a_request_elevenlabs_cannot_validate_is_a_speech_error_naming_the_field(
        elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    elevenlabs.faults = [Failure(422, [{"type": "string_too_long", "loc": ["body", "text"],
                                        "msg": "String should have at most 5000 characters"}])]
    with pytest.raises(SpeechError, match=r"\(422\): body.text: String should have at most 5000 characters"):
        await timed_chunks(tts.speak("Hello.", 8000, None))


async def test_the_stand_in_validates_as_elevenlabs_does(elevenlabs: FakeElevenLabs) -> None:
    url = f"{elevenlabs.base_url}/v1/text-to-speech/{DEFAULT_VOICE}/stream"
    headers = {"xi-api-key": elevenlabs.api_key}
    async with httpx.AsyncClient() as client:
        no_text = await client.post(url, params={"output_format": "pcm_16000"}, json={}, headers=headers)
        mp3 = await client.post(url, params={"output_format": "mp3_44100_128"}, json={"text": "Hi"}, headers=headers)
    assert no_text.status_code == 422 and no_text.json()["detail"][0]["loc"] == ["body", "text"]
    assert mp3.status_code == 422 and mp3.json()["detail"][0]["loc"] == ["query", "output_format"]


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_provider_failures_are_speech_errors_with_elevenlabs_message(
        elevenlabs: FakeElevenLabs, tts: ElevenLabsTts, status: int) -> None:
    elevenlabs.faults = [Failure(status)]
    with pytest.raises(SpeechError, match=rf"\({status}\): We are sorry, something went wrong"):
        await timed_chunks(tts.speak("Hello.", 8000, None))


async def test_a_stream_cut_midway_is_a_speech_error_after_the_audio_that_came(
        elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    elevenlabs.faults = [Cut(after_bytes=1600)]
    received: list[bytes] = []
    with pytest.raises(SpeechError, match="stream failed"):
        async with asyncio.timeout(2):
            async for chunk in tts.speak("A long sentence that will not be finished.", 8000, None):
                received.append(chunk)
    assert 1280 <= sum(len(c) for c in received) <= 1600  # whole 40 ms chunks of the 100 ms that came


async def test_a_stream_that_stalls_fails_instead_of_hanging(elevenlabs: FakeElevenLabs, tts: ElevenLabsTts) -> None:
    elevenlabs.chunk_interval_s = 5.0
    started = time.monotonic()
    with pytest.raises(SpeechError, match="ReadTimeout"):
        await timed_chunks(tts.speak("A sentence of several chunks.", 8000, None))
    assert time.monotonic() - started < 2.5


async def test_speech_and_a_refusal_are_client_spans_of_the_turn_with_elevenlabs_status(
        elevenlabs: FakeElevenLabs, tts: ElevenLabsTts, exported: InMemorySpanExporter) -> None:
    refused = ElevenLabsTts("wrong-key", base_url=elevenlabs.base_url)
    with telemetry.span_from(None, "voice turn") as turn:
        assert await timed_chunks(tts.speak("Thanks for calling.", 8000, None))
        with pytest.raises(SpeechError):
            await timed_chunks(refused.speak("Hello.", 8000, None))
    await refused.aclose()

    spoken, failed = [s for s in exported.get_finished_spans() if s.name == "POST elevenlabs"]
    for span in (spoken, failed):
        assert span.parent is not None and span.parent.span_id == turn.get_span_context().span_id
        recorded = " ".join(str(value) for value in (span.attributes or {}).values())
        assert "wrong-key" not in recorded and elevenlabs.api_key not in recorded and "Thanks" not in recorded
    assert spoken.attributes is not None and spoken.attributes["http.response.status_code"] == 200
    assert spoken.status.status_code is StatusCode.UNSET
    assert spoken.end_time is not None and spoken.start_time is not None
    assert failed.attributes is not None and failed.attributes["http.response.status_code"] == 401
    assert failed.status.status_code is StatusCode.ERROR and failed.attributes["error.type"] == "401"


async def test_opening_a_stream_is_a_client_span_without_the_key_or_the_hints(
        deepgram: FakeDeepgram, exported: InMemorySpanExporter) -> None:
    session = await stt(deepgram).open(RATE, "en", ["Northwind"])
    await session.close()
    with pytest.raises(SpeechError):
        await DeepgramStt("wrong-key", deepgram.base_url).open(RATE, "en", [])

    opened, refused = exported.get_finished_spans()
    assert (opened.name, opened.kind) == ("GET deepgram", SpanKind.CLIENT)
    assert opened.attributes is not None and opened.attributes["http.response.status_code"] == 101
    assert refused.attributes is not None and refused.attributes["http.response.status_code"] == 401
    assert refused.status.status_code is StatusCode.ERROR
    recorded = " ".join(str(v) for span in (opened, refused) for v in (span.attributes or {}).values())
    assert deepgram.api_key not in recorded and "wrong-key" not in recorded and "Northwind" not in recorded
