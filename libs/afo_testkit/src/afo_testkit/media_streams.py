"""A caller on a phone line, as Twilio Media Streams presents it to a server: a WebSocket CLIENT written to
Twilio's documented protocol (https://www.twilio.com/docs/voice/media-streams/websocket-messages).

It sends ``connected``, ``start`` (streamSid, callSid, accountSid, tracks, customParameters, mediaFormat
audio/x-mulaw 8000 Hz mono), then one ``media`` message per 20 ms of 8 kHz μ-law (160 bytes) IN REAL TIME,
silence included between utterances as a phone line does, ``dtmf`` when asked and ``stop`` at the end. It plays
what the server sends back the way Twilio does: outbound ``media`` is queued for playback at real time, a
``mark`` is echoed once the audio queued before it has finished playing, a ``clear`` drops the queued audio
and echoes every pending mark at once.

What a test or a benchmark reads afterwards: each caller utterance (``CallerTurn``: speech onset and end, the
first agent audio after it, the first ``clear`` after its onset), each stretch of agent speech (``Reply``: its
frames and the worst gap a listener would hear in it), every agent frame with its arrival time, the marks,
the clears and whatever the server sent that breaks the protocol (``malformed``). An upgrade the server refuses
(a bad ``X-Twilio-Signature``: 403) raises websockets' ``InvalidStatus`` from ``async with``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import numpy as np
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from afo_voice_media.domain.audio import PHONE_RATE, ULAW_SILENCE, ulaw_to_pcm

FRAME_BYTES = 160  # 20 ms of 8 kHz μ-law
FRAME_SECONDS = FRAME_BYTES / PHONE_RATE
SPEECH_RMS = 200.0  # a frame louder than this is speech, not line noise
_SILENT_PAYLOAD = base64.b64encode(bytes([ULAW_SILENCE]) * FRAME_BYTES).decode()


def rms(ulaw: bytes) -> float:
    """How loud μ-law audio is: the root mean square of its samples (0 for a silent line)."""
    if not ulaw:
        return 0.0
    samples = ulaw_to_pcm(ulaw).astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)))


def twilio_signature(auth_token: str, url: str) -> str:
    """The ``X-Twilio-Signature`` Twilio puts on the WebSocket upgrade: the URL signed with no parameters."""
    signature: str = RequestValidator(auth_token).compute_signature(url, {})
    return signature


class CallEnded(Exception):
    """The server closed the stream while the caller was still talking."""


@dataclass
class AgentFrame:
    arrived: float
    payload: bytes


@dataclass
class Reply:
    """One stretch of agent speech: from its first frame to a ``clear``, the next caller turn's reply, or a
    pause longer than the call's ``reply_pause``."""

    started: float
    frames: list[AgentFrame] = field(default_factory=list)
    worst_gap: float = 0.0  # longest silence a listener hears between frames, playback at real time
    cleared_at: float | None = None

    @property
    def audio(self) -> bytes:
        return b"".join(frame.payload for frame in self.frames)


@dataclass
class CallerTurn:
    """One utterance of the caller. Times are ``time.monotonic()`` of the first and last frame sent that is
    louder than line noise (the frame carrying the onset or the end of speech leaves then); ``ended`` is set
    once the whole utterance has been sent, so a pause between its words is not its end."""

    started: float
    ended: float | None = None
    agent_playing_at_onset: bool = False  # the caller spoke over the agent
    reply: Reply | None = None
    clear_at: float | None = None

    @property
    def latency(self) -> float | None:
        """End of speech → first agent audio frame."""
        if self.ended is None or self.reply is None:
            return None
        return self.reply.started - self.ended

    @property
    def barge_in_reaction(self) -> float | None:
        """Speech onset → ``clear`` received, for a turn spoken over the agent."""
        return None if self.clear_at is None else self.clear_at - self.started


@dataclass
class _Utterance:
    frames: deque[bytes]
    done: asyncio.Future[CallerTurn]
    turn: CallerTurn | None = None
    last_speech: float | None = None


class MediaStreamCall:
    """``async with MediaStreamCall(url) as call: await call.say(ulaw); await call.wait_for_reply()``."""

    def __init__(self, url: str, *, call_sid: str | None = None, account_sid: str | None = None,
                 stream_sid: str | None = None, custom_parameters: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None, reply_pause: float = 1.0) -> None:
        self.url = url
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.account_sid = account_sid or "AC" + uuid.uuid4().hex
        self.stream_sid = stream_sid or "MZ" + uuid.uuid4().hex
        self.custom_parameters = dict(custom_parameters or {})
        self.headers = dict(headers or {})
        self.reply_pause = reply_pause
        self.turns: list[CallerTurn] = []
        self.replies: list[Reply] = []
        self.agent_frames: list[AgentFrame] = []
        self.clears: list[float] = []
        self.marks_received: list[tuple[str, float]] = []
        self.marks_echoed: list[tuple[str, float]] = []
        self.malformed: list[str] = []
        self.media_sent = 0
        self.closed_at: float | None = None
        self._ws: ClientConnection | None = None
        self._sequence = 0
        self._utterances: deque[_Utterance] = deque()
        self._playout_end = 0.0
        self._reply: Reply | None = None
        self._pending_marks: dict[str, asyncio.TimerHandle] = {}
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        self._ws = await connect(self.url, additional_headers=self.headers, compression=None, max_size=2**20)
        try:
            await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"}, numbered=False)
            await self._send({"event": "start", "start": {
                "streamSid": self.stream_sid, "accountSid": self.account_sid, "callSid": self.call_sid,
                "tracks": ["inbound"], "customParameters": self.custom_parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE, "channels": 1}}})
        except ConnectionClosed:  # accepted, then dropped: the call is over before it began
            self._finish(time.monotonic())
            return self
        self._tasks = [asyncio.create_task(self._send_media()), asyncio.create_task(self._receive())]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.hang_up()

    @property
    def ended(self) -> bool:
        return self.closed_at is not None

    async def hang_up(self) -> None:
        """Send ``stop`` and close, as Twilio does when the caller hangs up."""
        sender = self._tasks[0] if self._tasks else None
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if self._ws is not None and self.closed_at is None:
            with contextlib.suppress(ConnectionClosed):
                await self._send({"event": "stop", "stop": {"accountSid": self.account_sid,
                                                            "callSid": self.call_sid}})
            await self._ws.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._finish(time.monotonic())

    async def say(self, ulaw: bytes) -> CallerTurn:
        """Play ``ulaw`` into the call at real time; returns once its last frame has left. Raises
        ``CallEnded`` if the server closes the stream first."""
        if not ulaw:
            raise ValueError("an utterance needs at least one sample")
        if self.ended:
            raise CallEnded(self.call_sid)
        frames = deque(ulaw[i:i + FRAME_BYTES].ljust(FRAME_BYTES, bytes([ULAW_SILENCE]))
                       for i in range(0, len(ulaw), FRAME_BYTES))
        utterance = _Utterance(frames, asyncio.get_running_loop().create_future())
        self._utterances.append(utterance)
        return await utterance.done

    async def silence(self, seconds: float) -> None:
        """Let the line carry silence (the sender fills every idle 20 ms) for ``seconds``."""
        await asyncio.sleep(seconds)

    async def dtmf(self, digit: str) -> None:
        await self._send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}})

    async def wait_for_reply(self, within: float = 5.0) -> Reply | None:
        """The agent's first audio after the last turn, or None if none came within ``within`` s."""
        turn = self.turns[-1]
        await self._wait(lambda: turn.reply is not None or self.ended, within)
        return turn.reply

    async def wait_for_agent_audio(self, after: float = 0.0, within: float = 5.0) -> AgentFrame | None:
        """The first agent frame arriving at or after ``after`` (a greeting, say), None if none came in time."""
        def first() -> AgentFrame | None:
            return next((frame for frame in reversed(self.agent_frames) if frame.arrived >= after), None)

        await self._wait(lambda: first() is not None or self.ended, within)
        return next((frame for frame in self.agent_frames if frame.arrived >= after), None)

    async def wait_for_agent_silence(self, quiet: float = 1.5, within: float = 30.0) -> bool:
        """Until the agent's queued audio has played out and ``quiet`` s passed with nothing new. A busy server
        sends its audio late, up to half a second at a time on a loaded test machine: a shorter ``quiet`` there
        takes such a gap in the greeting for its end."""
        deadline = time.monotonic() + within
        while not self.ended:
            idle_since = max(self._playout_end, self.agent_frames[-1].arrived if self.agent_frames else 0.0)
            left = idle_since + quiet - time.monotonic()
            if left <= 0:
                return True
            if time.monotonic() + left > deadline:
                return False
            await asyncio.sleep(left)
        return False

    async def wait_for_clear(self, after: float, within: float = 5.0) -> float | None:
        await self._wait(lambda: any(at >= after for at in self.clears) or self.ended, within)
        return next((at for at in self.clears if at >= after), None)

    async def wait_closed(self, within: float = 5.0) -> bool:
        await self._wait(lambda: self.ended, within)
        return self.ended

    @property
    def agent_playing(self) -> bool:
        """Whether agent audio is still queued for playback now."""
        return self._playout_end > time.monotonic()

    @property
    def agent_audio(self) -> bytes:
        return b"".join(frame.payload for frame in self.agent_frames)

    async def _wait(self, ready: Callable[[], bool], within: float) -> None:
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(ready), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _send(self, message: dict[str, Any], numbered: bool = True) -> None:
        assert self._ws is not None
        if numbered:
            self._sequence += 1
            message = {"event": message["event"], "sequenceNumber": str(self._sequence),
                       **message, "streamSid": self.stream_sid}
        await self._ws.send(json.dumps(message))

    async def _send_media(self) -> None:
        """One frame every 20 ms on an absolute schedule, so a late wake-up is made up rather than drifting."""
        first = time.monotonic()
        try:
            while True:
                utterance = self._utterances[0] if self._utterances else None
                frame = utterance.frames.popleft() if utterance else None
                chunk = self.media_sent + 1
                await self._send({"event": "media", "media": {
                    "track": "inbound", "chunk": str(chunk), "timestamp": str(self.media_sent * 20),
                    "payload": _SILENT_PAYLOAD if frame is None else base64.b64encode(frame).decode()}})
                self.media_sent = chunk
                if utterance is not None and frame is not None:
                    self._track_speech(utterance, frame)
                await asyncio.sleep(max(0.0, first + chunk * FRAME_SECONDS - time.monotonic()))
        except ConnectionClosed:
            self._finish(time.monotonic())

    def _track_speech(self, utterance: _Utterance, frame: bytes) -> None:
        now = time.monotonic()
        if rms(frame) > SPEECH_RMS:
            if utterance.turn is None:
                utterance.turn = CallerTurn(started=now, agent_playing_at_onset=self.agent_playing)
                self.turns.append(utterance.turn)
            utterance.last_speech = now
        if not utterance.frames:
            self._utterances.popleft()
            if utterance.turn is None:  # nothing above line noise: still a turn, with no speech in it
                utterance.turn = CallerTurn(started=now)
                self.turns.append(utterance.turn)
            utterance.turn.ended = utterance.last_speech or now
            utterance.done.set_result(utterance.turn)

    async def _receive(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                self._handle(message, time.monotonic())
                await self._notify()
        except ConnectionClosed:
            pass
        self._finish(time.monotonic())
        await self._notify()

    def _handle(self, message: str | bytes, now: float) -> None:
        if isinstance(message, bytes):
            self.malformed.append("binary frame")
            return
        try:
            data = json.loads(message)
        except ValueError:
            self.malformed.append(f"not JSON: {message[:80]!r}")
            return
        if not isinstance(data, dict):
            self.malformed.append(f"not an object: {message[:80]!r}")
            return
        event = data.get("event")
        if data.get("streamSid") != self.stream_sid:
            self.malformed.append(f"{event}: streamSid {data.get('streamSid')!r} is not this stream's")
        elif event == "media":
            self._on_media(data.get("media"), now)
        elif event == "mark":
            self._on_mark(data.get("mark"), now)
        elif event == "clear":
            self._on_clear(now)
        else:
            self.malformed.append(f"unknown event {event!r}")

    def _on_media(self, media: Any, now: float) -> None:
        try:
            payload = base64.b64decode(media["payload"], validate=True)
        except (TypeError, KeyError, binascii.Error):
            self.malformed.append(f"media without a base64 payload: {media!r:.80}")
            return
        if not payload:
            self.malformed.append("media with an empty payload")
            return
        frame = AgentFrame(now, payload)
        self.agent_frames.append(frame)
        awaiting = self.turns[-1] if self.turns and self.turns[-1].reply is None else None
        if awaiting is not None and awaiting.ended is None:
            awaiting = None  # audio while the caller still talks is not the answer to it
        reply = self._reply
        if awaiting is not None or reply is None or now - self._playout_end > self.reply_pause:
            reply = self._reply = Reply(started=now)
            self.replies.append(reply)
            if awaiting is not None:
                awaiting.reply = reply
        elif now > self._playout_end:
            reply.worst_gap = max(reply.worst_gap, now - self._playout_end)
        reply.frames.append(frame)
        self._playout_end = max(now, self._playout_end) + len(payload) / PHONE_RATE

    def _on_mark(self, mark: Any, now: float) -> None:
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            self.malformed.append(f"mark without a name: {mark!r:.80}")
            return
        self.marks_received.append((name, now))
        delay = max(0.0, self._playout_end - now)
        self._pending_marks[name] = asyncio.get_running_loop().call_later(delay, self._echo_mark, name)

    def _echo_mark(self, name: str) -> None:
        self._pending_marks.pop(name, None)
        if self.ended:
            return
        self.marks_echoed.append((name, time.monotonic()))
        self._tasks.append(asyncio.create_task(self._send_quietly({"event": "mark", "mark": {"name": name}})))

    async def _send_quietly(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._send(message)

    def _on_clear(self, now: float) -> None:
        self.clears.append(now)
        self._playout_end = now
        if self._reply is not None:
            self._reply.cleared_at = now
            self._reply = None
        if self.turns and self.turns[-1].clear_at is None:
            self.turns[-1].clear_at = now
        for name, timer in list(self._pending_marks.items()):
            timer.cancel()
            self._echo_mark(name)

    def _finish(self, now: float) -> None:
        if self.closed_at is None:
            self.closed_at = now
        for timer in self._pending_marks.values():
            timer.cancel()
        self._pending_marks.clear()
        while self._utterances:
            utterance = self._utterances.popleft()
            if not utterance.done.done():
                utterance.done.set_exception(CallEnded(self.call_sid))
