"""What an agent's recogniser hears of a voice test's lines (``speech.hear``), on fakes of the voice and the
recogniser: each line spoken at 8 kHz, carried through μ-law in 20 ms frames to a recogniser opened with the
agent's language and hints, one session per line, closed after; a failing recogniser is an ``unavailable`` reply."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import cast

import pytest

from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.voice_media_speech import HearLines
from afo_voice_media.domain.audio import PHONE_RATE
from afo_voice_media.domain.speech import SpeechError, Transcript
from afo_voice_media.handlers.hearing import FRAME_BYTES, Hearing
from afo_voice_media.handlers.speech_engines import SpeechEngines


class Voice:
    """Half a second of a constant tone per line."""

    name = "fake-voice"

    def __init__(self) -> None:
        self.spoken: list[tuple[str, int]] = []

    async def speak(self, text: str, sample_rate: int, voice: str | None) -> AsyncIterator[bytes]:
        self.spoken.append((text, sample_rate))
        yield b"\x00\x10" * (sample_rate // 2)


class Session:
    def __init__(self, recogniser: Recogniser) -> None:
        self._recogniser = recogniser
        self.frames: list[bytes] = []
        self.closed = False

    async def send(self, pcm: bytes) -> None:
        self.frames.append(pcm)

    async def finish(self) -> Transcript:
        if self._recogniser.fail:
            raise SpeechError("the recogniser went away")
        return Transcript(f"  heard {len(self._recogniser.sessions)}  ")

    async def close(self) -> None:
        self.closed = True


class Recogniser:
    name = "fake-stt"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sessions: list[tuple[int, str, list[str], Session]] = []

    async def open(self, sample_rate: int, language: str, hints: Sequence[str]) -> Session:
        session = Session(self)
        self.sessions.append((sample_rate, language, list(hints), session))
        return session


def hearing(recogniser: Recogniser, voice: Voice) -> Hearing:
    engines = SpeechEngines(cast(RpcClient, None), recogniser, voice, {}, {})
    return Hearing(engines, voice)


async def test_each_line_is_spoken_carried_as_a_call_and_recognised_with_the_agents_hints() -> None:
    recogniser, voice = Recogniser(), Voice()

    heard = await hearing(recogniser, voice).hear(HearLines(
        tenant_id="ten_1", lines=["Hi, I'm Dana", "Call me"], voice={"language": "en-GB"}, hints=["Ava", "Acme"]))

    assert (heard.heard, heard.stt) == (["heard 1", "heard 2"], "fake-stt")
    assert voice.spoken == [("Hi, I'm Dana", PHONE_RATE), ("Call me", PHONE_RATE)]
    for rate, language, hints, session in recogniser.sessions:
        assert (rate, language, hints, session.closed) == (PHONE_RATE, "en-GB", ["Ava", "Acme"], True)
        assert {len(f) for f in session.frames} == {FRAME_BYTES} and len(session.frames) == 25  # 0.5 s
        assert session.frames[0] != b"\x00\x10" * (FRAME_BYTES // 2)  # through μ-law, not as spoken


async def test_a_recogniser_that_fails_is_an_unavailable_reply() -> None:
    recogniser = Recogniser(fail=True)

    with pytest.raises(RpcError) as raised:
        await hearing(recogniser, Voice()).hear(HearLines(tenant_id="ten_1", lines=["hello"]))

    assert raised.value.code == "unavailable" and "the recogniser went away" in raised.value.message
    assert recogniser.sessions[0][3].closed
