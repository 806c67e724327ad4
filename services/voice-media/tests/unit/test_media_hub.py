"""The media hub's tick on lines that only note what they are given, with a voice-activity model that answers a
set probability: each call's audio decided on a few windows a tick, the agent's audio sent every tick, and audio
over a second behind shed — let through with the last verdict, nothing of it lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import cast

import numpy as np
import numpy.typing as npt
import pytest
from prometheus_client import REGISTRY

from afo_voice_media.domain.audio import DECODE
from afo_voice_media.handlers.call_session import CallSession
from afo_voice_media.handlers.media_hub import BACKLOG_BYTES, ROUNDS_PER_TICK, WINDOW, MediaHub


class Vad:
    """Answers ``probability`` for every window; counts the windows and the batches it was asked about."""

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.batches: list[int] = []
        self._slots = 0

    def acquire(self) -> int:
        self._slots += 1
        return self._slots - 1

    def release(self, slot: int) -> None:
        pass

    def infer(self, slots: npt.NDArray[np.intp], windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        assert windows.shape == (len(slots), WINDOW)
        self.batches.append(len(slots))
        return np.full(len(slots), self.probability, dtype=np.float32)


class Line:
    """A call as the hub sees it: the caller's audio waiting, and what the hub did with it, in order."""

    def __init__(self, call_id: str) -> None:
        self.call = SimpleNamespace(call_id=call_id)
        self.inbound = bytearray()
        self.vad_slot = -1
        self.vad_probability = 0.0
        self.turn_ends = None
        self.probabilities: list[float] = []
        self.heard: list[npt.NDArray[np.int16]] = []
        self.done: list[str] = []  # "window" or "flush", as they happened

    def on_window(self, probability: float, window: npt.NDArray[np.int16], now: float) -> None:
        self.probabilities.append(probability)
        self.heard.append(window.copy())
        self.done.append("window")

    async def flush(self, now: float) -> None:
        self.done.append("flush")


def caller_audio(windows: int) -> bytes:
    """``windows`` windows of μ-law, each byte different from its neighbours so order and loss both show."""
    return (np.arange(windows * WINDOW) % 251).astype(np.uint8).tobytes()


def shed() -> float:
    return REGISTRY.get_sample_value("afo_voice_vad_windows_shed_total", {"service": "voice-media"}) or 0.0


@pytest.fixture
async def vad() -> Vad:
    return Vad(probability=0.75)


@pytest.fixture
async def hub(vad: Vad) -> AsyncIterator[MediaHub]:
    made = MediaHub(vad)
    yield made
    await made.stop()


def on(hub: MediaHub, call_id: str) -> Line:
    line = Line(call_id)
    hub.add(cast(CallSession, line))
    return line


async def test_a_tick_decides_on_a_few_windows_of_a_call_then_sends_the_agents_audio(hub: MediaHub) -> None:
    line = on(hub, "call_1")
    line.inbound += caller_audio(10)

    await hub.tick(0.0)

    assert line.done == ["window"] * ROUNDS_PER_TICK + ["flush"]
    assert len(line.inbound) == (10 - ROUNDS_PER_TICK) * WINDOW
    await hub.tick(0.01)
    await hub.tick(0.02)
    assert line.done.count("window") == 10 and line.done.count("flush") == 3 and not line.inbound


async def test_the_calls_of_a_tick_share_each_inference(hub: MediaHub, vad: Vad) -> None:
    first, second = on(hub, "call_1"), on(hub, "call_2")
    first.inbound += caller_audio(2)
    second.inbound += caller_audio(1) + b"\xff" * (WINDOW - 1)  # a window and most of another

    await hub.tick(0.0)

    assert vad.batches == [2, 1]
    assert first.probabilities == [0.75, 0.75] and second.probabilities == [0.75]
    assert len(second.inbound) == WINDOW - 1  # the part of a window waits for the rest


async def test_audio_over_a_second_behind_goes_through_with_the_last_verdict_and_none_of_it_is_lost(
        hub: MediaHub, vad: Vad) -> None:
    line = on(hub, "call_1")
    line.inbound += caller_audio(1)
    await hub.tick(0.0)  # the caller speaking: the last verdict is 0.75
    vad.probability = 0.25
    before = shed()
    behind = caller_audio(64)  # 2 s of audio arrived while the process could not keep up
    line.inbound += behind
    stale = (len(behind) - BACKLOG_BYTES) // WINDOW

    await hub.tick(0.01)

    assert line.probabilities[1:] == [0.75] * stale + [0.25] * ROUNDS_PER_TICK  # shed, then decided again
    assert vad.batches == [1] + [1] * ROUNDS_PER_TICK  # the shed windows were not inferred
    assert shed() == before + stale and hub.shed_windows == stale
    assert len(line.inbound) <= BACKLOG_BYTES and line.done[-1] == "flush"
    while line.inbound:
        await hub.tick(0.02)
    heard = np.concatenate(line.heard[1:])
    assert np.array_equal(heard, DECODE[np.frombuffer(behind, dtype=np.uint8)])  # every sample, in order


async def test_a_call_within_a_second_of_its_audio_sheds_nothing(hub: MediaHub) -> None:
    line = on(hub, "call_1")
    line.inbound += caller_audio(BACKLOG_BYTES // WINDOW)
    before = shed()

    await hub.tick(0.0)

    assert shed() == before and hub.shed_windows == 0
    assert line.done == ["window"] * ROUNDS_PER_TICK + ["flush"]
