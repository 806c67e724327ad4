"""A call's turn-taking end to end inside voice-media, on fakes of everything outside it: the caller's voice
(probabilities per window), the recogniser, the voice, the transport and agent-runtime's streamed replies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import numpy as np
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from afo_common.conversation_feed import LiveNotice
from afo_common.realtime import ReplyCompleted, ReplyDelta
from afo_common.telemetry import current_traceparent
from afo_voice_media.domain.speech import Transcript
from afo_voice_media.domain.turn_taking import CallManners, TurnPolicy
from afo_voice_media.handlers import turn_spans
from afo_voice_media.handlers.call_session import CallContext, CallSession, TurnTrace

CALL = CallContext(call_id="call_1", tenant_id="ten_1", agent_id="agt_1", conversation_id="conv_1",
                   greeting="Hi, this is Ava.", voice=None)
WINDOW = np.zeros(256, dtype=np.int16)


class Recogniser:
    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.received = 0
        self.closed = False

    async def send(self, pcm: bytes) -> None:
        self.received += len(pcm)

    async def finish(self) -> Transcript:
        return Transcript(self.words.pop(0) if self.words else "", provider_s=0.05)

    async def close(self) -> None:
        self.closed = True


class Voice:
    """Speech of 1 s per 10 characters, as 16-bit PCM at 8 kHz, in two chunks."""

    name = "fake"

    async def speak(self, text: str, sample_rate: int, voice: str | None) -> AsyncIterator[bytes]:
        total = sample_rate * len(text) // 10 * 2
        yield b"\x10\x00" * (total // 4)
        yield b"\x10\x00" * (total // 4)


class Sink:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.clears = 0
        self.hung_up_at: float | None = None

    async def send_audio(self, ulaw: bytes) -> None:
        self.frames.append(ulaw)

    async def send_mark(self, name: str) -> None:
        pass

    async def clear(self) -> None:
        self.clears += 1

    async def hang_up(self) -> None:
        self.hung_up_at = asyncio.get_running_loop().time()


class Agent:
    def __init__(self) -> None:
        self.posted: list[tuple[str, int]] = []
        self.recorded: list[TurnTrace] = []

    async def post(self, call: CallContext, text: str, sequence: int) -> str:
        self.posted.append((text, sequence))
        return f"msg_user_{sequence}"

    async def completed(self, call: CallContext, turn: TurnTrace) -> None:
        self.recorded.append(turn)


class Call:
    def __init__(self, words: Sequence[str], manners: CallManners | None = None, agent: Agent | None = None,
                 voice: Voice | None = None, recogniser: type[Recogniser] = Recogniser) -> None:
        self.now = 1000.0
        self.recogniser, self.sink, self.agent = recogniser(list(words)), Sink(), agent or Agent()
        self.session = CallSession(CALL, self.recogniser, voice or Voice(), self.sink, self.agent, TurnPolicy(),
                                   clock=lambda: self.now, manners=manners)

    async def advance(self, seconds: float, probability: float = 0.0) -> None:
        """Time passes in 32 ms windows of caller audio with this voice probability, audio flushed every 20 ms."""
        end = self.now + seconds
        next_window = self.now + 0.032
        while self.now < end:
            self.now = round(self.now + 0.004, 6)
            if self.now >= next_window:
                self.session.on_window(probability, WINDOW, self.now)
                next_window += 0.032
            if round(self.now * 1000) % 20 == 0:
                await self.session.flush(self.now)
            await asyncio.sleep(0)

    def reply(self, in_reply_to: str, text: str, message_id: str = "msg_agent_1") -> None:
        words = text.split(" ")
        for index, word in enumerate(words):
            delta = ReplyDelta(message_id=message_id, in_reply_to=in_reply_to, index=index,
                               text=word + (" " if index < len(words) - 1 else ""))
            self.session.on_notice(LiveNotice("reply.delta", delta.to_bytes()))
        completed = ReplyCompleted(message_id=message_id, in_reply_to=in_reply_to, text=text)
        self.session.on_notice(LiveNotice("reply.completed", completed.to_bytes()))


@pytest.fixture
async def call() -> AsyncIterator[Call]:
    made = Call(["I want to book a meeting", "no wait, next week"])
    made.session.start()
    yield made
    await made.session.close("completed")


async def test_the_greeting_is_spoken_then_a_turn_is_posted_and_its_reply_spoken_and_recorded(call: Call) -> None:
    await call.advance(2.0)
    assert len(call.sink.frames) * 160 == pytest.approx(8000 * 1.6, abs=160)  # "Hi, this is Ava." = 1.6 s
    await call.advance(1.0, probability=0.9)
    await call.advance(0.8)
    assert call.agent.posted == [("I want to book a meeting", 1)]
    sent_before = len(call.sink.frames)
    call.reply("msg_user_1", "Sure. Which day suits you?")
    await call.advance(3.0)
    assert (len(call.sink.frames) - sent_before) * 160 == pytest.approx(8000 * 2.5, abs=320)  # 5 + 20 characters
    [turn] = call.agent.recorded
    assert turn.caller_text == "I want to book a meeting" and turn.heard_text == "Sure. Which day suits you?"
    assert not turn.interrupted and turn.message_id == "msg_user_1"
    latency = turn.latency()
    assert 640 <= latency.turn_decision_ms < 700
    assert latency.first_audio_out_ms is not None and latency.first_audio_out_ms >= latency.turn_decision_ms
    assert call.recogniser.received > 0


async def test_speaking_over_the_agent_clears_its_audio_and_the_cut_reply_is_recorded_as_heard(call: Call) -> None:
    await call.advance(2.0)
    await call.advance(1.0, probability=0.9)
    await call.advance(0.8)
    call.reply("msg_user_1", "We have three plans. Basic is ten dollars. Pro is fifty dollars a month.")
    await call.advance(1.0)
    assert call.sink.clears == 0
    await call.advance(0.1, probability=0.9)
    assert call.sink.clears == 1
    frames = len(call.sink.frames)
    await call.advance(1.4, probability=0.9)
    assert len(call.sink.frames) == frames  # nothing more while the caller holds the floor
    await call.advance(0.8)
    assert [text for text, _ in call.agent.posted] == ["I want to book a meeting", "no wait, next week"]
    [cut] = call.agent.recorded
    assert cut.interrupted and cut.heard_text is not None
    assert cut.heard_text.startswith("We have") and "fifty" not in cut.heard_text


async def test_a_backchannel_pauses_the_agent_then_it_carries_on(call: Call) -> None:
    await call.advance(2.0)
    await call.advance(1.0, probability=0.9)
    await call.advance(0.8)
    call.reply("msg_user_1", "We have three plans. Basic is ten dollars. Pro is fifty dollars a month.")
    await call.advance(1.0)
    await call.advance(0.3, probability=0.9)  # "mhmm"
    assert call.sink.clears == 1
    await call.advance(8.0)
    assert len(call.agent.posted) == 1
    [turn] = call.agent.recorded
    assert not turn.interrupted and turn.heard_text == turn.agent_text


async def test_noise_the_recogniser_makes_nothing_of_is_not_a_turn() -> None:
    made = Call([""])
    made.session.start()
    await made.advance(2.0)
    await made.advance(0.5, probability=0.9)
    await made.advance(1.0)
    assert made.agent.posted == []
    await made.session.close("completed")
    assert made.recogniser.closed


async def test_replies_to_other_messages_are_not_spoken_but_the_agents_own_messages_are(call: Call) -> None:
    await call.advance(2.0)
    frames = len(call.sink.frames)
    call.reply("msg_someone_else", "Not for this call.")
    await call.advance(1.0)
    assert len(call.sink.frames) == frames
    own = ReplyCompleted(message_id="msg_agent_9", in_reply_to="0192f1c2-8a7e-7b3c-9d4e-5f6a7b8c9d0e",
                         text="Your meeting is booked.")
    call.session.on_notice(LiveNotice("reply.completed", own.to_bytes()))
    await call.advance(3.0)
    assert (len(call.sink.frames) - frames) * 160 == pytest.approx(8000 * 2.3, abs=320)


async def test_dtmf_digits_reach_the_agent_as_one_message(call: Call) -> None:
    for digit in "42#":
        call.session.on_dtmf(digit)
    await asyncio.sleep(1.6)
    assert call.agent.posted == [("42#", 1)]


async def test_a_slow_reply_is_preceded_by_a_filler_and_a_prompt_reply_is_not() -> None:
    made = Call(["what are your prices", "and the pro plan"], CallManners(filler_after_s=0.05))
    made.session.start()
    await made.advance(2.0)
    await made.advance(1.0, probability=0.9)
    await made.advance(0.8)
    frames = len(made.sink.frames)
    await asyncio.sleep(0.1)  # past filler_after_s in real time, and no reply yet
    await made.advance(2.0)
    filler = len(made.sink.frames) - frames
    assert filler * 160 in (8000 * 11 // 10, 8000 * 13 // 10, 8000 * 14 // 10)  # one of the three fillers
    made.reply("msg_user_1", "Basic is ten.")
    await made.advance(2.0)
    [turn] = made.agent.recorded
    assert turn.agent_text == "Basic is ten." and turn.first_out_at is not None
    await made.session.close("completed")


async def test_silence_gets_one_prompt_then_a_goodbye_and_the_line_is_hung_up() -> None:
    made = Call([], CallManners(silence_prompt_s=1.0))
    made.session.start()
    await made.advance(2.0)  # the greeting
    frames = len(made.sink.frames)
    await made.advance(1.5)
    assert len(made.sink.frames) > frames and made.sink.hung_up_at is None  # "Are you still there?"
    await made.advance(6.0)
    assert made.session.ended_by == "silence" and made.sink.hung_up_at is not None
    await made.session.close("completed")


async def test_speaking_after_the_prompt_keeps_the_line_open() -> None:
    made = Call(["yes I am here"], CallManners(silence_prompt_s=1.0))
    made.session.start()
    await made.advance(5.0)
    await made.advance(1.0, probability=0.9)
    await made.advance(0.8)
    assert made.agent.posted == [("yes I am here", 1)]
    assert made.session.ended_by is None and made.sink.hung_up_at is None
    await made.session.close("completed")


async def test_a_later_silence_gets_its_own_prompt_before_the_line_is_hung_up() -> None:
    made = Call(["yes I am here"], CallManners(silence_prompt_s=1.0))
    made.session.start()
    await made.advance(4.0)  # the greeting, then the first prompt
    await made.advance(1.0, probability=0.9)
    await made.advance(0.8)
    made.reply("msg_user_1", "Good.")
    await made.advance(1.0)
    frames = len(made.sink.frames)
    await made.advance(2.0)
    assert len(made.sink.frames) > frames and made.sink.hung_up_at is None  # asked again, not hung up
    assert made.session.ended_by is None
    await made.advance(6.0)
    assert made.session.ended_by == "silence" and made.sink.hung_up_at is not None
    await made.session.close("completed")


class SlowRecogniser(Recogniser):
    """A recogniser that gives a turn's words only when ``release`` is set, as one on a busy machine does."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(words)
        self.release = asyncio.Event()

    async def finish(self) -> Transcript:
        await self.release.wait()
        return await super().finish()


async def test_a_caller_waiting_on_the_recogniser_is_not_asked_whether_they_are_still_there() -> None:
    made = Call(["what are your opening hours"], CallManners(silence_prompt_s=1.0), recogniser=SlowRecogniser)
    assert isinstance(made.recogniser, SlowRecogniser)
    made.session.start()
    await made.advance(2.0)  # the greeting
    await made.advance(1.0, probability=0.9)
    frames = len(made.sink.frames)
    await made.advance(3.0)  # three prompt intervals while the words are recognised
    assert len(made.sink.frames) == frames and made.session.ended_by is None

    made.recogniser.release.set()
    await made.advance(0.1)
    assert made.agent.posted == [("what are your opening hours", 1)]
    await made.session.close("completed")


async def test_words_the_recogniser_does_not_give_in_time_are_no_turn_and_the_line_stays_open() -> None:
    made = Call(["too late"], CallManners(silence_prompt_s=1.0, transcript_wait_s=0.05), recogniser=SlowRecogniser)
    made.session.start()
    await made.advance(2.0)
    await made.advance(1.0, probability=0.9)
    await made.advance(0.7)
    await asyncio.sleep(0.1)  # past transcript_wait_s in real time
    await made.advance(0.1)
    assert made.agent.posted == [] and made.session.ended_by is None
    frames = len(made.sink.frames)
    await made.advance(1.5)
    assert len(made.sink.frames) > frames  # quiet again: "Are you still there?"
    await made.session.close("completed")


class Finished:
    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.asked: list[int] = []

    async def finished(self, pcm: bytes, sample_rate: int) -> bool | None:
        self.asked.append(len(pcm))
        return self.answer


@pytest.mark.parametrize(("answer", "decided_within_ms"), [(True, (200, 300)), (False, (640, 700)),
                                                           (None, (640, 700))])
async def test_the_turn_end_model_ends_a_finished_turn_at_the_pause_and_never_a_paused_one(
        answer: bool | None, decided_within_ms: tuple[int, int]) -> None:
    made = Call(["I would like a demo"])
    model = Finished(answer)
    made.session.turn_ends = model
    made.session.start()
    await made.advance(2.0)
    await made.advance(1.0, probability=0.9)
    await made.advance(1.0)
    assert model.asked and model.asked[0] >= 1.0 * 8000 * 2
    assert [text for text, _ in made.agent.posted] == ["I would like a demo"]
    made.reply("msg_user_1", "Sure.")
    await made.advance(2.0)
    [turn] = made.agent.recorded
    low, high = decided_within_ms
    assert low <= turn.latency().turn_decision_ms < high
    assert turn.latency().endpoint_wait_ms == (192.0 if answer else 640.0)
    await made.session.close("completed")


class TracedAgent(Agent):
    """Notes the trace each turn's message and record were sent in (what their events' ``traceparent`` carries)."""

    def __init__(self) -> None:
        super().__init__()
        self.posted_in: list[str | None] = []
        self.recorded_in: list[str | None] = []

    async def post(self, call: CallContext, text: str, sequence: int) -> str:
        self.posted_in.append(current_traceparent())
        return await super().post(call, text, sequence)

    async def completed(self, call: CallContext, turn: TurnTrace) -> None:
        self.recorded_in.append(current_traceparent())
        await super().completed(call, turn)


class TracedVoice(Voice):
    def __init__(self) -> None:
        self.spoken_in: list[int] = []  # the trace id current when each utterance was asked for

    async def speak(self, text: str, sample_rate: int, voice: str | None) -> AsyncIterator[bytes]:
        self.spoken_in.append(trace.get_current_span().get_span_context().trace_id)
        async for chunk in super().speak(text, sample_rate, voice):
            yield chunk


async def test_each_turn_is_a_trace_of_its_own_with_its_stages_and_its_message_and_speech_in_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_ON)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(turn_spans, "_tracer", provider.get_tracer("afo.voice-media"))
    agent, voice = TracedAgent(), TracedVoice()
    with provider.get_tracer("test").start_as_current_span("WS /twilio/media/{ticket}") as media_socket:
        made = Call(["I want to book a meeting", "next Tuesday please"], agent=agent, voice=voice)
    made.session.start()
    await made.advance(2.0)
    for index in (1, 2):
        await made.advance(1.0, probability=0.9)
        await made.advance(0.8)
        made.reply(f"msg_user_{index}", "Sure. Which day suits you?", message_id=f"msg_agent_{index}")
        await made.advance(3.0)
    await made.session.close("completed")

    spans = exporter.get_finished_spans()
    roots = [span for span in spans if span.name == "voice turn"]
    assert len(roots) == 2 == len(agent.recorded)
    assert len({root.context.trace_id for root in roots}) == 2
    for index, root in enumerate(roots):
        assert root.parent is None  # a new trace, not the call's
        assert [link.context.span_id for link in root.links] == [media_socket.get_span_context().span_id]
        trace_id = f"{root.context.trace_id:032x}"
        posted_in = agent.posted_in[index]
        assert posted_in is not None and posted_in.startswith(f"00-{trace_id}-{root.context.span_id:016x}-")
        recorded_in = agent.recorded_in[index]
        assert recorded_in is not None and recorded_in.startswith(f"00-{trace_id}-")
        assert root.context.trace_id in voice.spoken_in  # its answer synthesised in its trace
        stages = {span.name: span for span in spans
                  if span.parent is not None and span.parent.span_id == root.context.span_id}
        assert set(stages) == {"stt", "agent", "tts"}
        assert root.start_time is not None and root.end_time is not None
        for stage in stages.values():
            assert stage.start_time is not None and stage.end_time is not None
            assert root.start_time <= stage.start_time <= stage.end_time <= root.end_time
        assert root.attributes is not None
        assert root.attributes["afo.call_id"] == "call_1" and root.attributes["afo.turn_index"] == index
        assert root.attributes["afo.message_id"] == f"msg_user_{index + 1}"
        assert root.attributes["afo.voice.stt_final_ms"] == agent.recorded[index].latency().stt_final_ms
        assert "afo.voice.first_audio_out_ms" in root.attributes
        said = " ".join(str(value) for span in spans for value in (span.attributes or {}).values())
        assert "meeting" not in said and "Tuesday" not in said and "Which day" not in said
