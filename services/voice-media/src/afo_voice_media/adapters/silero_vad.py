"""Silero VAD for every call of the process in one inference per tick.

Stock pipecat runs one Silero model per call, a Python round trip per 32 ms window (measured: ~5% of a core per
call). The model accepts a batch, so here every call owns a slot in one state array and a tick runs all calls'
windows together: ~0.02 ms of CPU per window at a batch of 100 (DEPENDENCIES.md). The model file is the one
pipecat's wheel ships; no download."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

WINDOW = 256  # samples at 8 kHz: 32 ms
_CONTEXT = 32
_STATE = 128


def pipecat_data(relative: str) -> str:
    """A model file pipecat's wheel ships, found without importing pipecat (its import starts its logging)."""
    spec = find_spec("pipecat")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pipecat-ai is not installed: voice-media needs its model files")
    return str(Path(spec.submodule_search_locations[0]) / relative)


class SileroBatch:
    """Not thread-safe: one caller at a time (the media hub's tick runs it in one worker thread)."""

    def __init__(self, capacity: int = 64) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(pipecat_data("audio/vad/data/silero_vad.onnx"), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._rate = np.array(8000, dtype=np.int64)
        self._state = np.zeros((2, capacity, _STATE), np.float32)
        self._context = np.zeros((capacity, _CONTEXT), np.float32)
        self._free = list(range(capacity - 1, -1, -1))

    def acquire(self) -> int:
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._state[:, slot, :] = 0.0
        self._context[slot, :] = 0.0
        return slot

    def release(self, slot: int) -> None:
        self._free.append(slot)

    def infer(self, slots: npt.NDArray[np.intp], windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Speech probability of each ``windows[i]`` (256 samples in [-1, 1]) of the call in ``slots[i]``; each
        slot at most once per call (its state carries over to its next window)."""
        batch = np.concatenate([self._context[slots], windows], axis=1)
        output, state = self._session.run(None, {"input": batch, "state": self._state[:, slots, :], "sr": self._rate})
        self._state[:, slots, :] = state
        self._context[slots] = windows[:, -_CONTEXT:]
        return np.asarray(output[:, 0], dtype=np.float32)

    def _grow(self) -> None:
        capacity = self._state.shape[1]
        self._state = np.concatenate([self._state, np.zeros_like(self._state)], axis=1)
        self._context = np.concatenate([self._context, np.zeros_like(self._context)], axis=0)
        self._free.extend(range(2 * capacity - 1, capacity - 1, -1))
