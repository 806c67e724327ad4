"""Who has the floor on a call, decided from voice activity alone (plain Python, one instance per call).

Fed one voice-activity probability per 32 ms window of the caller's audio, it says when the caller starts
speaking, pauses, and ends a turn, with hysteresis so breath and line noise do not flip it. While the agent is
speaking, a short utterance ("mhmm", "okay", "right") is a backchannel, not a turn: the agent stops at once (the
caller may be taking the floor, and an agent that talks over a caller is what callers hate most) and carries on
where it stopped when the caller's voice ended that quickly."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

WINDOW_MS = 32.0  # one voice-activity window of the caller's audio


@dataclass(frozen=True)
class TurnPolicy:
    start_threshold: float = 0.5
    stop_threshold: float = 0.35
    # Voice this long before it counts as speech (a click or a cough shorter than this does not)...
    onset_ms: float = 64.0
    # ...or this long while the agent speaks: callers judge an agent by how late it stops talking, and a noise
    # taken for speech costs only a moment's pause (it is a backchannel: the agent carries on).
    barge_in_onset_ms: float = 32.0
    # A pause this long may be the end of the turn, when a turn-end model says so; the model is asked after
    # ask_ms of silence, so its verdict is in by the time the pause is long enough.
    pause_ms: float = 192.0
    ask_ms: float = 96.0
    # A pause this long ends the turn whatever the model says.
    end_silence_ms: float = 640.0
    # Caller speech over the agent shorter than this, then silence for pause_ms, is a backchannel.
    backchannel_max_ms: float = 700.0


@dataclass(frozen=True)
class CallManners:
    """What a caller expects of a phone agent beyond its words: no dead air while it looks something up, and a
    line that is not held open forever when the caller has gone quiet."""

    # A reply that has not started this long after the caller's turn gets a short filler first.
    filler_after_s: float = 0.7
    fillers: tuple[str, ...] = ("One moment.", "Let me check.", "Just a second.")
    # The recogniser's words for a finished turn are awaited this long; after that the turn is taken as unheard.
    transcript_wait_s: float = 10.0
    # Nobody speaking this long: the agent asks once; as long again after that, it says goodbye and hangs up.
    silence_prompt_s: float = 8.0
    silence_prompt: str = "Are you still there?"
    silence_goodbye: str = "I'll let you go now. Goodbye!"


class Kind(Enum):
    SPEECH_STARTED = "speech_started"
    PAUSED = "paused"
    TURN_ENDED = "turn_ended"
    BACKCHANNEL = "backchannel"


@dataclass(frozen=True)
class TurnEvent:
    kind: Kind
    # Wall-clock seconds: when the caller's voice started and when it was last heard.
    speech_started_at: float
    speech_ended_at: float
    at: float
    # The silence the policy waited for on purpose before ending the turn (the full end silence, or the pause
    # when a turn-end model said the turn was finished): the rest of the decision's time is the platform's.
    waited_ms: float = 0.0


class TurnTaker:
    def __init__(self, policy: TurnPolicy) -> None:
        self._policy = policy
        self._voiced_since: float | None = None  # voice heard, not yet long enough to be speech
        self._speaking = False
        self._started_at = 0.0
        self._last_voice_at = 0.0
        self._paused_reported = False
        self._finished = False  # the turn-end model judged this pause the end of the turn
        # Silence is counted in the caller's audio (windows), not in wall time: a window processed a little late
        # must not make the pause look longer or shorter than the caller made it.
        self._silent_windows = 0
        self._over_agent = False

    @property
    def caller_speaking(self) -> bool:
        return self._speaking

    def feed(self, probability: float, now: float, *, agent_speaking: bool) -> TurnEvent | None:
        policy = self._policy
        if not self._speaking:
            if probability < policy.start_threshold:
                self._voiced_since = None
                return None
            if self._voiced_since is None:
                self._voiced_since = now
            onset_ms = policy.barge_in_onset_ms if agent_speaking else policy.onset_ms
            if (now - self._voiced_since) * 1000.0 + WINDOW_MS < onset_ms:
                return None
            self._speaking = True
            self._silent_windows = 0
            self._started_at = self._voiced_since
            self._last_voice_at = now
            self._paused_reported = False
            self._over_agent = agent_speaking
            return TurnEvent(Kind.SPEECH_STARTED, self._started_at, now, now)
        if probability >= policy.stop_threshold:
            self._last_voice_at = now
            self._paused_reported = self._finished = False
            self._silent_windows = 0
            return None
        self._silent_windows += 1
        silent_ms = self._silent_windows * WINDOW_MS
        voiced_ms = (self._last_voice_at - self._started_at) * 1000.0
        if self._over_agent and voiced_ms < policy.backchannel_max_ms and silent_ms >= policy.pause_ms:
            return self._end(Kind.BACKCHANNEL, now)
        if silent_ms >= policy.end_silence_ms or (self._finished and silent_ms >= policy.pause_ms):
            return self._end(Kind.TURN_ENDED, now, silent_ms)
        if silent_ms >= policy.ask_ms and not self._paused_reported and not self._over_agent:
            self._paused_reported = True
            return TurnEvent(Kind.PAUSED, self._started_at, self._last_voice_at, now)
        return None

    def finished(self, now: float) -> TurnEvent | None:
        """The turn-end model heard a finished turn in this pause: it ends once the pause is ``pause_ms`` long
        (now, if it already is). Too late if the caller spoke again since it was asked."""
        if not self._speaking or not self._paused_reported:
            return None
        self._finished = True
        if (silent_ms := self._silent_windows * WINDOW_MS) >= self._policy.pause_ms:
            return self._end(Kind.TURN_ENDED, now, silent_ms)
        return None

    def _end(self, kind: Kind, now: float, waited_ms: float = 0.0) -> TurnEvent:
        self._speaking = self._finished = False
        self._voiced_since = None
        return TurnEvent(kind, self._started_at, self._last_voice_at, now, waited_ms)
