"""Phone audio: G.711 μ-law at 8 kHz in 20 ms frames (Twilio Media Streams), 16-bit PCM inside.

μ-law is converted through two lookup tables (byte-identical to the standard library's former ``audioop``), so a
whole batch of calls' audio converts in one numpy indexing operation instead of a Python loop per sample."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PHONE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = PHONE_RATE * FRAME_MS // 1000  # 160 μ-law bytes in a Twilio media frame
ULAW_SILENCE = 0xFF

_BIAS = 0x84


def _decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa << 3) + _BIAS) << exponent
    values = np.where(sign != 0, _BIAS - magnitude, magnitude - _BIAS)
    return values.astype(np.int16)


def _encode_table() -> npt.NDArray[np.uint8]:
    # CPython's audioop.lin2ulaw: the sample scaled to 14 bits, clipped, biased, then its segment and mantissa.
    scaled = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(scaled < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(scaled), 8159) + (_BIAS >> 2)
    segment = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), magnitude)
    value = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    value = np.where(segment >= 8, 0x7F, value)
    return ((value ^ mask) & 0xFF).astype(np.uint8)


DECODE = _decode_table()
ENCODE = _encode_table()


def ulaw_to_pcm(ulaw: bytes | bytearray | memoryview) -> npt.NDArray[np.int16]:
    return DECODE[np.frombuffer(ulaw, dtype=np.uint8)]


def pcm_to_ulaw(pcm: npt.NDArray[np.int16]) -> bytes:
    return ENCODE[pcm.astype(np.int32) + 32768].tobytes()


def pcm_bytes_to_ulaw(pcm: bytes) -> bytes:
    return pcm_to_ulaw(np.frombuffer(pcm, dtype="<i2"))


def ms_of_ulaw(length: int) -> float:
    return length * 1000.0 / PHONE_RATE
