"""A call's recording: the caller on the left channel, the agent on the right, as the caller heard it (an
interrupted answer stops where it was cut), in a μ-law WAV file (G.711, 8 kHz: what the call carried, half the
size of PCM).

While the call lasts, both sides go to temporary files on disk, not memory (a 10-minute call is ~19 MB of PCM
and one instance carries many calls); the agent's audio is written at the caller's position when it was sent, so
both sides stay aligned. At the end the two are interleaved and encoded once."""

from __future__ import annotations

import struct
import tempfile

import numpy as np
import numpy.typing as npt

from afo_voice_media.domain.audio import PHONE_RATE, pcm_to_ulaw, ulaw_to_pcm

_CHUNK = PHONE_RATE * 2 * 30  # 30 s of one side's PCM per read when the file is made
WAVE_FORMAT_MULAW = 7


class Recording:
    def __init__(self) -> None:
        self._caller = tempfile.TemporaryFile()  # noqa: SIM115 (kept open for the call's life, closed in close())
        self._agent = tempfile.TemporaryFile()  # noqa: SIM115
        self._caller_samples = 0

    def caller(self, window: npt.NDArray[np.int16]) -> None:
        self._caller.write(window.astype("<i2").tobytes())
        self._caller_samples += len(window)

    def agent(self, ulaw: bytes) -> None:
        """A frame of the agent's speech, as it leaves: placed where the caller's audio is now."""
        self._agent.seek(self._caller_samples * 2)
        self._agent.write(ulaw_to_pcm(ulaw).astype("<i2").tobytes())

    @property
    def seconds(self) -> float:
        return self._caller_samples / PHONE_RATE

    def wav(self) -> bytes:
        """The stereo μ-law WAV file of the whole call."""
        self._caller.flush()
        self._agent.flush()
        self._caller.seek(0)
        self._agent.seek(0)
        body = bytearray()
        while caller := self._caller.read(_CHUNK):
            agent = self._agent.read(len(caller)).ljust(len(caller), b"\x00")
            pcm = np.empty(len(caller), dtype=np.int16)  # two sides of len/2 samples each
            pcm[0::2] = np.frombuffer(caller, dtype="<i2")
            pcm[1::2] = np.frombuffer(agent, dtype="<i2")
            body += pcm_to_ulaw(pcm)
        return _wav_header(len(body)) + bytes(body)

    def close(self) -> None:
        self._caller.close()
        self._agent.close()


def _wav_header(data_bytes: int) -> bytes:
    channels, bits = 2, 8
    fmt = struct.pack("<HHIIHHH", WAVE_FORMAT_MULAW, channels, PHONE_RATE, PHONE_RATE * channels, channels, bits, 0)
    fact = struct.pack("<I", data_bytes // channels)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(fact) + 8 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", len(fact)) + fact
            + b"data" + struct.pack("<I", data_bytes))
