"""μ-law through lookup tables, byte-identical to the standard library's former ``audioop`` (the expected values
are G.711's, computed here independently of the tables)."""

import numpy as np

from afo_voice_media.domain.audio import pcm_to_ulaw, ulaw_to_pcm


def g711_encode(sample: int) -> int:
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    value = min(abs(value), 8159) + 0x21
    for segment, end in enumerate((0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)):
        if value <= end:
            return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask
    return 0x7F ^ mask


def test_encoding_matches_g711_for_every_sample() -> None:
    samples = np.arange(-32768, 32768, 7, dtype=np.int16)
    assert pcm_to_ulaw(samples) == bytes(g711_encode(int(s)) for s in samples)


def test_decoding_inverts_encoding_within_the_quantisation_step() -> None:
    samples = np.array([0, 100, -100, 1000, -1000, 12000, -32768, 32767], dtype=np.int16)
    decoded = ulaw_to_pcm(pcm_to_ulaw(samples)).astype(int)
    assert np.all(np.abs(decoded - samples.astype(int)) <= np.maximum(8, np.abs(samples.astype(int)) // 16))
    assert ulaw_to_pcm(b"\xff\x7f").tolist() == [0, 0]
