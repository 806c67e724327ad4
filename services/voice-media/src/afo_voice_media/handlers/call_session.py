"""One live call: the caller's speech turned into the conversation's messages, the agent's replies turned into
speech, and who has the floor.

The media hub feeds ``on_window`` with each 32 ms window of the caller's audio and its voice probability, and asks
``flush`` every tick for what to send. Everything slow (recognising, posting the turn, synthesising) runs in the
call's own tasks, so a tick never waits on a provider. voice-media never decides what to say: the words come
from agent-runtime's replies, streamed on the conversation's real-time subject."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from opentelemetry import trace
from opentelemetry.trace import Span

from afo_common.conversation_feed import LiveNotice
from afo_common.events.call import CallEnd, TurnLatency
from afo_common.realtime import ReplyCompleted, ReplyDelta
from afo_voice_media.domain.audio import PHONE_RATE, pcm_bytes_to_ulaw
from afo_voice_media.domain.playback import Playback
from afo_voice_media.domain.sentences import SentenceSplitter
from afo_voice_media.domain.speech import SpeechError, SttSession, TextToSpeech, Transcript
from afo_voice_media.domain.turn_taking import CallManners, Kind, TurnEvent, TurnPolicy, TurnTaker
from afo_voice_media.handlers.turn_spans import TurnSpans

log = logging.getLogger(__name__)
UTTERANCE_BYTES = 8 * PHONE_RATE * 2  # what the turn-end model reads: the last 8 s
PRE_ROLL_WINDOWS = 8  # 256 ms of audio before voice was detected goes to the recogniser too
# DTMF digits pressed within this long of each other reach the agent as one message.
DTMF_GAP_S = 1.5


class MediaSink(Protocol):
    """The transport's way out (Twilio Media Streams, WebRTC)."""

    async def send_audio(self, ulaw: bytes) -> None: ...

    async def send_mark(self, name: str) -> None: ...

    async def clear(self) -> None: ...

    async def hang_up(self) -> None: ...


# Hands the call to a person (the agent-runtime asked for a handoff): True when the call was transferred.
Handoff = Callable[["CallContext"], Awaitable[bool]]


class Recorder(Protocol):
    """Both sides of the call as the caller heard them (``adapters/recording.py``)."""

    def caller(self, window: npt.NDArray[np.int16]) -> None: ...

    def agent(self, ulaw: bytes) -> None: ...


class TurnEnds(Protocol):
    """A model of whether the caller finished the turn at a pause (None: not asked, decide by silence)."""

    async def finished(self, pcm: bytes, sample_rate: int) -> bool | None: ...


class Turns(Protocol):
    """Where the call's turns go: the caller's words to agent-runtime, each finished turn to the call's record."""

    async def post(self, call: CallContext, text: str, sequence: int) -> str: ...

    async def completed(self, call: CallContext, turn: TurnTrace) -> None: ...


@dataclass(frozen=True)
class CallContext:
    call_id: str
    tenant_id: str
    agent_id: str
    conversation_id: str
    greeting: str
    voice: str | None


@dataclass
class TurnTrace:
    """One turn as it happens (monotonic seconds), recorded when the agent's answer has been heard or cut off."""

    index: int
    speech_started_at: float
    speech_ended_at: float
    decided_at: float
    started_wall: float
    endpoint_wait_s: float = 0.0
    caller_text: str = ""
    message_id: str | None = None
    stt_final_at: float | None = None
    first_delta_at: float | None = None
    reply_done_at: float | None = None
    first_tts_at: float | None = None
    first_out_at: float | None = None
    stt_provider_s: float = 0.0
    tts_provider_s: float = 0.0
    agent_text: str = ""
    heard_text: str | None = None
    interrupted: bool = False
    reply_done: bool = False
    audio_start: int | None = None  # where the reply's audio starts in the call's outgoing audio
    audio_end: int | None = None  # bytes of outgoing audio queued when the reply's last sentence was made
    recorded: bool = False
    span: Span | None = None  # the turn's trace (``turn_spans``), from its message's posting to its record

    def latency(self) -> TurnLatency:
        def since_end(at: float | None) -> float | None:
            return None if at is None else round((at - self.speech_ended_at) * 1000.0, 1)

        return TurnLatency(
            turn_decision_ms=round((self.decided_at - self.speech_ended_at) * 1000.0, 1),
            endpoint_wait_ms=round(self.endpoint_wait_s * 1000.0, 1),
            stt_final_ms=since_end(self.stt_final_at), first_reply_delta_ms=since_end(self.first_delta_at),
            first_tts_audio_ms=since_end(self.first_tts_at), first_audio_out_ms=since_end(self.first_out_at),
            stt_provider_ms=round(self.stt_provider_s * 1000.0, 1),
            tts_provider_ms=round(self.tts_provider_s * 1000.0, 1))


def _within(span: Span | None) -> AbstractContextManager[object]:
    """``span`` current inside (nothing changes without one); an exception is not recorded on it: its message can
    quote what was said."""
    if span is None:
        return contextlib.nullcontext()
    return trace.use_span(span, record_exception=False, set_status_on_exception=False)


@dataclass
class _Utterance:
    message_id: str | None
    text: str
    generation: int
    turn: TurnTrace | None


@dataclass
class _Finish:
    done: asyncio.Future[Transcript] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class CallSession:
    def __init__(self, call: CallContext, stt: SttSession, tts: TextToSpeech, sink: MediaSink, turns: Turns,
                 policy: TurnPolicy, clock: Callable[[], float] = time.monotonic, handoff: Handoff | None = None,
                 manners: CallManners | None = None, turn_ends: TurnEnds | None = None,
                 recorder: Recorder | None = None) -> None:
        self.call = call
        self.inbound = bytearray()  # μ-law from the caller, not yet through voice activity detection
        self.vad_slot = -1
        self.vad_probability = 0.0  # the last window's, which the media hub lends to windows it sheds
        self._stt = stt
        self._tts = tts
        self._sink = sink
        self._turns = turns
        self._clock = clock
        self._taker = TurnTaker(policy)
        self._playback = Playback()
        self._pre_roll: list[bytes] = []
        self._to_stt: asyncio.Queue[bytes | _Finish] = asyncio.Queue()
        self._to_speak: asyncio.Queue[_Utterance] = asyncio.Queue()
        self._generation = 0  # replies of an earlier generation are no longer wanted
        self._sequence = 0
        self._turn_index = 0
        self._pending: dict[str, TurnTrace] = {}  # the caller's message id → its turn, until the reply is done
        self._transcribing = 0  # turns the caller has finished whose words the recogniser has not given yet
        self._splitters: dict[str, SentenceSplitter] = {}  # the agent's message id → its sentences so far
        self._spoken: set[str] = set()  # the agent's messages already said (or being said)
        self._dropped: set[str] = set()  # the caller's messages whose replies are no longer wanted
        self._current: TurnTrace | None = None  # the turn whose reply is playing
        self._current_message_id: str | None = None
        self._clear_pending = False
        self._tasks: list[asyncio.Task[None]] = []
        self._dtmf: list[str] = []
        self._dtmf_task: asyncio.Task[None] | None = None
        self.started_at = clock()
        self.turns_taken = 0
        self._handoff = handoff
        self._recorder = recorder
        self._spans = TurnSpans(call, clock)
        self.turn_ends = turn_ends  # the media hub withdraws it when the process is too busy for it
        self._utterance = bytearray()  # the caller's voice this turn, for the turn-end model (last 8 s)
        self._manners = manners or CallManners()
        self._fillers = 0
        self._quiet_since = clock()
        self._prompted = False
        self._goodbye_end: int | None = None  # where the goodbye's audio ends, once it is made
        self._hung_up = False
        self.ended_by: CallEnd | None = None  # the call ended on the agent's side: transferred, or silence

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._recognise(), name=f"stt-{self.call.call_id}"),
                       asyncio.create_task(self._speak(), name=f"tts-{self.call.call_id}")]
        self._to_speak.put_nowait(_Utterance(None, self.call.greeting, self._generation, None))

    async def close(self, reason: CallEnd) -> None:
        now = self._clock()
        for task in [*self._tasks, *([self._dtmf_task] if self._dtmf_task else [])]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(SpeechError, OSError):
            await self._stt.close()
        if self._current is not None and not self._current.recorded:
            self._cut_current(now)
            await self._record(self._current)
        for turn in list(self._pending.values()):
            if not turn.recorded:
                await self._record(turn)
        log.info("call %s ended (%s) after %d turns", self.call.call_id, reason, self.turns_taken)

    # -- the caller's audio (from the hub's tick; must not block) --------------------------------------------
    def on_window(self, probability: float, window: npt.NDArray[np.int16], now: float) -> None:
        if self._recorder is not None:
            self._recorder.caller(window)
        pcm = window.tobytes()
        if self._taker.caller_speaking:
            self._to_stt.put_nowait(pcm)
            self._utterance += pcm
            if len(self._utterance) > UTTERANCE_BYTES:
                del self._utterance[:len(self._utterance) - UTTERANCE_BYTES]
        else:
            self._pre_roll.append(pcm)
            if len(self._pre_roll) > PRE_ROLL_WINDOWS:
                self._pre_roll.pop(0)
        event = self._taker.feed(probability, now, agent_speaking=self._playback.speaking(now))
        if event is not None:
            self._on_turn_event(event, now)

    def _on_turn_event(self, event: TurnEvent, now: float) -> None:
        if event.kind is Kind.SPEECH_STARTED:
            self._prompted = False
            self._utterance = bytearray(b"".join(self._pre_roll))
            for pcm in self._pre_roll:
                self._to_stt.put_nowait(pcm)
            self._pre_roll.clear()
            if self._playback.speaking(now):
                self._playback.interrupt(now)
                self._clear_pending = True
        elif event.kind is Kind.PAUSED:
            if self.turn_ends is not None and not self._playback.paused:
                self._tasks.append(asyncio.create_task(self._ask_turn_end(bytes(self._utterance))))
        elif event.kind is Kind.BACKCHANNEL:
            self._to_stt.put_nowait(_Finish())  # its words are not a turn; the recogniser starts afresh
            self._playback.resume(now)
        elif event.kind is Kind.TURN_ENDED:
            turn = TurnTrace(self._turn_index, event.speech_started_at, event.speech_ended_at, now,
                             started_wall=time.time() - (now - event.speech_started_at),
                             endpoint_wait_s=event.waited_ms / 1000.0)
            self._turn_index += 1
            finish = _Finish()
            self._to_stt.put_nowait(finish)
            self._tasks.append(asyncio.create_task(self._take_turn(turn, finish), name=f"turn-{self.call.call_id}"))

    async def _ask_turn_end(self, pcm: bytes) -> None:
        assert self.turn_ends is not None
        if await self.turn_ends.finished(pcm, PHONE_RATE):
            now = self._clock()
            event = self._taker.finished(now)
            if event is not None:
                self._on_turn_event(event, now)

    async def _take_turn(self, turn: TurnTrace, finish: _Finish) -> None:
        self._transcribing += 1
        try:
            transcript = await asyncio.wait_for(asyncio.shield(finish.done), self._manners.transcript_wait_s)
        except (TimeoutError, SpeechError) as exc:
            log.warning("call %s: no transcript of turn %d: %r", self.call.call_id, turn.index, exc)
            transcript = Transcript("")
        finally:
            self._transcribing -= 1
        now = self._clock()
        turn.stt_final_at, turn.stt_provider_s = now, transcript.provider_s
        text = transcript.text.strip()
        if not text:  # noise, or nothing the recogniser could make out: whatever was playing carries on
            self._playback.resume(now)
            return
        turn.caller_text = text
        if self._playback.paused or self._playback.speaking(now):
            self._take_floor(now)
        await self._post(turn, text)

    async def _post(self, turn: TurnTrace, text: str) -> None:
        self._sequence += 1
        turn.span = self._spans.begin(turn)
        try:
            # The message's event carries the turn's trace to agent-runtime.
            with _within(turn.span):
                message_id = await self._turns.post(self.call, text, self._sequence)
        except BaseException as exc:  # the turn ends here: its trace too (a cancelled call is no failure)
            self._spans.end(turn, failed=isinstance(exc, Exception))
            raise
        turn.message_id = message_id
        self._pending[message_id] = turn
        self.turns_taken += 1
        asyncio.get_running_loop().call_later(self._manners.filler_after_s, self._fill_silence, turn)

    def _fill_silence(self, turn: TurnTrace) -> None:
        """The reply has not started (the agent is searching or booking): a short filler, so there is no dead air."""
        if turn.first_delta_at is not None or turn.recorded or self._taker.caller_speaking or self.ended_by:
            return
        fillers = self._manners.fillers
        self._fillers += 1
        self._to_speak.put_nowait(_Utterance(None, fillers[self._fillers % len(fillers)], self._generation, None))

    def _take_floor(self, now: float) -> None:
        """The caller spoke over the agent and meant it: the rest of the agent's speech is dropped."""
        self._generation += 1
        self._cut_current(now)
        if self._current is not None:
            turn, self._current = self._current, None
            self._tasks.append(asyncio.create_task(self._record(turn)))
        for message_id, turn in list(self._pending.items()):
            self._dropped.add(message_id)
            del self._pending[message_id]
            turn.interrupted = True
            self._tasks.append(asyncio.create_task(self._record(turn)))

    def _cut_current(self, now: float) -> None:
        heard = self._playback.drop_rest(now)
        if self._current is None:
            return
        for cut in heard:
            if cut.message_id is not None and cut.message_id == self._current_message_id:
                self._current.heard_text = cut.text
                self._current.interrupted = True

    # -- DTMF ------------------------------------------------------------------------------------------------
    def on_dtmf(self, digit: str) -> None:
        self._dtmf.append(digit)
        if self._dtmf_task is not None:
            self._dtmf_task.cancel()
        self._dtmf_task = asyncio.create_task(self._send_digits())

    async def _send_digits(self) -> None:
        await asyncio.sleep(DTMF_GAP_S)
        digits, self._dtmf = "".join(self._dtmf), []
        now = self._clock()
        turn = TurnTrace(self._turn_index, now, now, now, started_wall=time.time(), caller_text=digits,
                         stt_final_at=now)
        self._turn_index += 1
        if self._playback.speaking(now):
            self._take_floor(now)
        self._dtmf_task = None
        await self._post(turn, digits)

    # -- the agent's replies ---------------------------------------------------------------------------------
    def on_notice(self, notice: LiveNotice) -> None:
        """A real-time notice of the call's conversation (on the event loop, from the conversation feed)."""
        now = self._clock()
        if notice.kind == "handoff" and self._handoff is not None and self.ended_by is None:
            self._tasks.append(asyncio.create_task(self._hand_off(), name=f"handoff-{self.call.call_id}"))
        elif notice.kind == "reply.delta":
            delta = ReplyDelta.model_validate_json(notice.data)
            turn = self._pending.get(delta.in_reply_to)
            if turn is None:
                return
            if turn.first_delta_at is None:
                turn.first_delta_at = now
            splitter = self._splitters.setdefault(delta.message_id, SentenceSplitter())
            self._spoken.add(delta.message_id)
            for sentence in splitter.feed(delta.text):
                self._say(delta.message_id, sentence, turn)
        elif notice.kind == "reply.completed":
            completed = ReplyCompleted.model_validate_json(notice.data)
            if completed.in_reply_to in self._dropped:
                return
            turn = self._pending.get(completed.in_reply_to)
            if turn is not None and turn.first_delta_at is None:
                turn.first_delta_at = now
            if completed.message_id in self._splitters:
                for sentence in self._splitters.pop(completed.message_id).flush():
                    self._say(completed.message_id, sentence, turn)
            elif completed.message_id not in self._spoken and not completed.in_reply_to.startswith("msg_"):
                # Said without deltas in answer to an event, not to a message (the agent's own news, e.g. once
                # a meeting is booked). A reply to a message this call did not post (the lead's SMS in the same
                # conversation) goes back the way that message came.
                self._spoken.add(completed.message_id)
                splitter = SentenceSplitter()
                for sentence in [*splitter.feed(completed.text), *splitter.flush()]:
                    self._say(completed.message_id, sentence, turn)
            if turn is not None:
                turn.agent_text = completed.text
                turn.reply_done = True
                turn.reply_done_at = now
                self._to_speak.put_nowait(_Utterance(completed.message_id, "", self._generation, turn))

    async def _hand_off(self) -> None:
        assert self._handoff is not None
        # The agent's last words (that a person will take over) are heard before the line is handed on.
        await self._to_speak.join()
        await asyncio.sleep(max(0.0, self._playback.ends_at() - self._clock()))
        try:
            if await self._handoff(self.call):
                self.ended_by = "transferred"
        except Exception:
            log.exception("call %s: the transfer failed", self.call.call_id)

    def _say(self, message_id: str, sentence: str, turn: TurnTrace | None) -> None:
        self._to_speak.put_nowait(_Utterance(message_id, sentence, self._generation, turn))

    async def _speak(self) -> None:
        while True:
            utterance = await self._to_speak.get()
            try:
                await self._speak_one(utterance)
            finally:
                self._to_speak.task_done()

    async def _speak_one(self, utterance: _Utterance) -> None:
        if utterance.generation != self._generation:
            return
        turn = utterance.turn
        if not utterance.text:  # the reply's end: once its audio is heard, the turn is recorded
            if turn is not None:
                turn.audio_end = self._playback.queued
            return
        if turn is not None and self._current is not turn:
            self._current = turn
            self._current_message_id = utterance.message_id
        if turn is not None and turn.audio_start is None:
            turn.audio_start = self._playback.length
        asked = self._clock()
        try:
            # Synthesised in the turn's trace: a speech provider's request is the turn's.
            with _within(turn.span if turn is not None else None):
                async for pcm in self._tts.speak(utterance.text, PHONE_RATE, self.call.voice):
                    if utterance.generation != self._generation:
                        break
                    now = self._clock()
                    idle = not self._playback.speaking(now)
                    self._playback.append(pcm_bytes_to_ulaw(pcm), utterance.message_id, utterance.text, now)
                    if turn is not None and turn.first_tts_at is None:
                        turn.first_tts_at = now
                        turn.tts_provider_s = now - asked
                    if idle:  # the line was quiet: the first words go out now, not at the next tick
                        await self._send_due(now)
        except SpeechError as exc:
            log.warning("call %s: speech synthesis failed: %s", self.call.call_id, exc)
        if utterance.text is self._manners.silence_goodbye and self.ended_by == "silence":
            self._goodbye_end = self._playback.length

    # -- what goes out (from the hub's tick) -------------------------------------------------------------------
    async def flush(self, now: float) -> None:
        if self._clear_pending:
            self._clear_pending = False
            await self._sink.clear()
        await self._send_due(now)
        turn = self._current
        if (turn is not None and turn.reply_done and turn.audio_end is not None and not self._playback.paused
                and not self._playback.speaking(now)):
            self._current = None
            if turn.message_id is not None:
                self._pending.pop(turn.message_id, None)
            self._playback.forget_heard(now)
            await self._record(turn)
        self._mind_the_silence(now)
        await self._hang_up_after_goodbye(now)

    def _mind_the_silence(self, now: float) -> None:
        # A caller whose words are still being recognised is waiting for the agent, not gone quiet.
        busy = self._taker.caller_speaking or self._transcribing or self._pending or self._playback.speaking(now)
        if busy or self.ended_by:
            self._quiet_since = now
            return
        if not self._to_speak.empty():
            return
        quiet = now - self._quiet_since
        if quiet < self._manners.silence_prompt_s:
            return
        if not self._prompted:
            self._prompted = True
            self._to_speak.put_nowait(_Utterance(None, self._manners.silence_prompt, self._generation, None))
            return
        self.ended_by = "silence"
        self._to_speak.put_nowait(_Utterance(None, self._manners.silence_goodbye, self._generation, None))

    async def _hang_up_after_goodbye(self, now: float) -> None:
        if self._goodbye_end is None or self._hung_up or self._playback.speaking(now):
            return
        self._hung_up = True
        await self._sink.hang_up()

    async def _send_due(self, now: float) -> None:
        frames = self._playback.due_frames(now)
        for frame in frames:
            await self._sink.send_audio(frame)
            if self._recorder is not None:
                self._recorder.agent(frame)
        turn = self._current
        if (frames and turn is not None and turn.first_out_at is None and turn.audio_start is not None
                and self._playback.sent > turn.audio_start):
            turn.first_out_at = now

    async def _record(self, turn: TurnTrace) -> None:
        if turn.recorded or turn.message_id is None:
            return
        turn.recorded = True
        if turn.heard_text is None and not turn.interrupted:
            turn.heard_text = turn.agent_text
        failed = False
        try:
            with _within(turn.span):  # the turn's record (its event) is in its trace
                await self._turns.completed(self.call, turn)
        except Exception:
            failed = True
            log.exception("call %s: turn %d could not be recorded", self.call.call_id, turn.index)
        finally:
            self._spans.end(turn, failed)

    # -- the recogniser's queue ------------------------------------------------------------------------------
    async def _recognise(self) -> None:
        while True:
            item = await self._to_stt.get()
            if isinstance(item, _Finish):
                try:
                    item.done.set_result(await self._stt.finish())
                except SpeechError as exc:
                    item.done.set_exception(exc)
                continue
            try:
                await self._stt.send(item)
            except SpeechError as exc:
                log.warning("call %s: the recogniser failed: %s", self.call.call_id, exc)

