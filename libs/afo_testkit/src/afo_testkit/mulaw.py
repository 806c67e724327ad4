"""G.711 μ-law ↔ 16-bit PCM through lookup tables, byte-identical to the standard library's ``audioop``
(``lin2ulaw``/``ulaw2lin``, gone in Python 3.13): what a phone line carries in Twilio Media Streams.

The encoder table is built once from audioop's own algorithm (``st_14linear2ulaw`` on the sample shifted to
14 bits), so a test can synthesise caller audio and read the agent's without audioop and without a loop in
Python per sample."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 8000
SILENCE = 0xFF  # μ-law of PCM 0: what a quiet phone line sends
_BIAS = 0x84
_CLIP_14 = 8159
_SEGMENT_ENDS_14 = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _encode_table() -> npt.NDArray[np.uint8]:
    pcm14 = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm14 < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm14), _CLIP_14) + (_BIAS >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS_14, magnitude, side="left")
    code = np.where(segment >= 8, 0x7F,
                    (np.minimum(segment, 7) << 4) | ((magnitude >> (np.minimum(segment, 7) + 1)) & 0xF))
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _decode_table() -> npt.NDArray[np.int16]:
    inverted = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((inverted & 0x0F) << 3) + _BIAS) << ((inverted & 0x70) >> 4)
    return np.where(inverted & 0x80, _BIAS - magnitude, magnitude - _BIAS).astype(np.int16)


_ENCODE = _encode_table()
_DECODE = _decode_table()


def encode(pcm: npt.NDArray[np.int16] | bytes) -> bytes:
    """16-bit signed PCM (native-endian bytes or an int16 array) → μ-law bytes, one per sample."""
    samples = np.frombuffer(pcm, dtype=np.int16) if isinstance(pcm, bytes) else pcm.astype(np.int16, copy=False)
    return bytes(_ENCODE[samples.astype(np.int32) + 32768])


def decode(ulaw: bytes) -> npt.NDArray[np.int16]:
    """μ-law bytes → 16-bit signed PCM samples."""
    return _DECODE[np.frombuffer(ulaw, dtype=np.uint8)]


def rms(ulaw: bytes) -> float:
    """Root mean square of the decoded samples: how loud a frame is (0 for a silent line)."""
    if not ulaw:
        return 0.0
    samples = decode(ulaw).astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)))
