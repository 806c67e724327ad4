"""The agent's outgoing speech on one call: μ-law audio queued by synthesis, sent in 20 ms frames at the pace
the caller hears it, and what the caller has heard so far.

Frames leave ahead of real time (``lead_ms``): the provider's buffer plays them on time through a late tick or a
busy moment of the process, and an interruption (``clear``) empties that buffer at once, so sending ahead costs
nothing when the caller barges in. Audio is kept, not sent all at once, so that a barge-in stops it
within a frame and a backchannel can resume it where it stopped."""

from __future__ import annotations

from dataclasses import dataclass

from afo_voice_media.domain.audio import FRAME_SAMPLES, PHONE_RATE


@dataclass
class Segment:
    """One sentence of one message, as bytes [start, end) of the call's outgoing audio."""

    message_id: str | None
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Heard:
    message_id: str | None
    text: str           # what the caller heard of the message, to the word
    whole: bool


class Playback:
    def __init__(self, lead_ms: float = 400.0) -> None:
        self._audio = bytearray()
        self._segments: list[Segment] = []
        self._sent = 0
        self._anchor = 0.0  # wall time at which byte 0 would have been heard, were there no gaps
        self._lead = lead_ms / 1000.0
        self.paused = False

    @property
    def length(self) -> int:
        """Bytes of audio queued so far (positions in it are what ``sent`` counts)."""
        return len(self._audio)

    @property
    def sent(self) -> int:
        return self._sent

    @property
    def queued(self) -> int:
        return len(self._audio) - self._sent

    def speaking(self, now: float) -> bool:
        """Audio is still to be sent or still being heard."""
        if self.paused:
            return False
        return self._sent < len(self._audio) or now < self._anchor + self._sent / PHONE_RATE

    def ends_at(self) -> float:
        """When the caller will have heard everything queued so far, if nothing stops it."""
        return self._anchor + len(self._audio) / PHONE_RATE

    def append(self, ulaw: bytes, message_id: str | None, text: str, now: float) -> None:
        """More of a sentence (``text`` is the sentence; its segment grows while the same sentence streams)."""
        if not ulaw:
            return
        if self._sent == len(self._audio) and now > self._anchor + self._sent / PHONE_RATE:
            # Nothing left to hear: play from now, instead of rushing to catch up a gap.
            self._anchor = now - self._sent / PHONE_RATE
        start = len(self._audio)
        self._audio += ulaw
        last = self._segments[-1] if self._segments else None
        if last is not None and last.message_id == message_id and last.text == text and last.end == start:
            last.end = len(self._audio)
        else:
            self._segments.append(Segment(message_id, text, start, len(self._audio)))

    def due_frames(self, now: float) -> list[bytes]:
        """Frames to send now: everything due ``lead_ms`` ahead of the caller's ear."""
        if self.paused or self._sent >= len(self._audio):
            return []
        due = int((now + self._lead - self._anchor) * PHONE_RATE)
        frames: list[bytes] = []
        while self._sent < len(self._audio) and self._sent < due:
            end = min(self._sent + FRAME_SAMPLES, len(self._audio))
            frames.append(bytes(self._audio[self._sent:end]))
            self._sent = end
        return frames

    def forget_heard(self, now: float) -> None:
        """Drop the audio the caller has heard (it is never sent again), so a long call holds only what is queued."""
        position = self._sent if self.paused else self.heard_position(now)
        if position == 0:
            return
        del self._audio[:position]
        self._sent -= position
        self._anchor += position / PHONE_RATE
        kept: list[Segment] = []
        for segment in self._segments:
            if segment.end > position:
                kept.append(Segment(segment.message_id, segment.text, segment.start - position,
                                    segment.end - position))
        self._segments = kept

    def heard_position(self, now: float) -> int:
        return max(0, min(self._sent, int((now - self._anchor) * PHONE_RATE)))

    def interrupt(self, now: float) -> None:
        """The caller spoke over the agent: stop where the caller's ear is (the provider drops what it holds)."""
        self._sent = self.heard_position(now)
        self.paused = True

    def resume(self, now: float) -> None:
        """It was a backchannel: carry on from where it stopped."""
        if not self.paused:
            return
        self.paused = False
        self._anchor = now - self._sent / PHONE_RATE

    def drop_rest(self, now: float) -> list[Heard]:
        """The caller took the floor: what was not heard is gone. Returns what was heard of each message cut."""
        position = self.heard_position(now) if not self.paused else self._sent
        cut = self.heard_of(position)
        del self._audio[position:]
        self._segments = [s for s in self._segments if s.start < position]
        if self._segments:
            self._segments[-1].end = min(self._segments[-1].end, position)
        self._sent = position
        self.paused = False
        self._anchor = now - self._sent / PHONE_RATE
        return cut

    def heard_of(self, position: int) -> list[Heard]:
        """For each message with audio past ``position``: the words heard before it."""
        cut = list(dict.fromkeys(s.message_id for s in self._segments if s.end > position))
        heard: list[Heard] = []
        for message_id in cut:
            spoken: list[str] = []
            for segment in (s for s in self._segments if s.message_id == message_id and s.start < position):
                if segment.end <= position:
                    spoken.append(segment.text)
                    continue
                share = (position - segment.start) / (segment.end - segment.start)
                words = segment.text.split()
                spoken.append(" ".join(words[:int(len(words) * share)]))
            heard.append(Heard(message_id, " ".join(w for w in spoken if w), whole=False))
        return heard
