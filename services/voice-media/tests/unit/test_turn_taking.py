"""Who has the floor, from voice probabilities alone: onset, pause, end of turn, and backchannels over the agent."""

from afo_voice_media.domain.turn_taking import Kind, TurnEvent, TurnPolicy, TurnTaker

WINDOW_S = 0.032


def run(taker: TurnTaker, probabilities: list[float], start: float = 0.0, *, agent_speaking: bool = False
        ) -> list[tuple[float, TurnEvent]]:
    events = []
    for i, probability in enumerate(probabilities):
        now = start + (i + 1) * WINDOW_S
        event = taker.feed(probability, now, agent_speaking=agent_speaking)
        if event is not None:
            events.append((now, event))
    return events


def windows(ms: float) -> int:
    return round(ms / 32)


def test_speech_then_silence_is_one_turn_ending_after_the_end_silence() -> None:
    policy = TurnPolicy(end_silence_ms=640)
    events = run(TurnTaker(policy), [0.9] * windows(800) + [0.05] * windows(1000))
    kinds = [e.kind for _, e in events]
    assert kinds == [Kind.SPEECH_STARTED, Kind.PAUSED, Kind.TURN_ENDED]
    assert events[1][1].at - events[1][1].speech_ended_at < 0.2  # the model is asked before the pause is over
    ended_at, ended = events[-1]
    assert 0.64 - 1e-9 <= ended_at - ended.speech_ended_at < 0.64 + WINDOW_S
    assert abs((ended.speech_ended_at - ended.speech_started_at) - 0.8) < 2 * WINDOW_S


def test_a_click_shorter_than_the_onset_is_not_speech() -> None:
    assert run(TurnTaker(TurnPolicy(onset_ms=96)), [0.9, 0.1] * 20) == []


def test_a_short_pause_inside_a_sentence_does_not_end_the_turn() -> None:
    events = run(TurnTaker(TurnPolicy()), [0.9] * 20 + [0.1] * windows(400) + [0.9] * 20 + [0.1] * 30)
    assert [e.kind for _, e in events].count(Kind.TURN_ENDED) == 1


def test_hysteresis_keeps_speech_going_between_the_thresholds() -> None:
    events = run(TurnTaker(TurnPolicy()), [0.9] * 10 + [0.4] * 40 + [0.0] * 30)
    ended = [e for _, e in events if e.kind is Kind.TURN_ENDED]
    assert len(ended) == 1 and ended[0].speech_ended_at >= 50 * WINDOW_S - 1e-9


def test_a_short_utterance_over_the_agent_is_a_backchannel() -> None:
    events = run(TurnTaker(TurnPolicy(backchannel_max_ms=700)), [0.9] * windows(400) + [0.05] * 20,
                 agent_speaking=True)
    assert [e.kind for _, e in events] == [Kind.SPEECH_STARTED, Kind.BACKCHANNEL]


def test_a_long_utterance_over_the_agent_takes_the_floor() -> None:
    events = run(TurnTaker(TurnPolicy(backchannel_max_ms=700)), [0.9] * windows(1500) + [0.05] * 30,
                 agent_speaking=True)
    assert [e.kind for _, e in events][-1] is Kind.TURN_ENDED


def test_a_finished_verdict_ends_the_turn_once_the_pause_is_long_enough() -> None:
    taker = TurnTaker(TurnPolicy(pause_ms=192, ask_ms=96))
    events = run(taker, [0.9] * 20 + [0.05] * 3)
    assert events[-1][1].kind is Kind.PAUSED
    assert taker.finished(events[-1][0]) is None  # asked early: the pause is not 192 ms yet
    later = run(taker, [0.05] * 4, start=events[-1][0])
    [(at, ended)] = later
    assert ended.kind is Kind.TURN_ENDED and ended.waited_ms == 192  # the sixth silent window
    assert abs(at - ended.speech_ended_at - 0.192) < 1e-9


def test_a_late_verdict_ends_the_turn_at_once_and_one_after_the_caller_spoke_again_does_nothing() -> None:
    taker = TurnTaker(TurnPolicy(pause_ms=192, ask_ms=96))
    events = run(taker, [0.9] * 20 + [0.05] * 8)
    ended = taker.finished(events[-1][0] + 0.2)  # the verdict came after the pause was 200 ms long
    assert ended is not None and ended.kind is Kind.TURN_ENDED
    again = TurnTaker(TurnPolicy(pause_ms=192, ask_ms=96))
    paused = run(again, [0.9] * 20 + [0.05] * 4)
    resumed = run(again, [0.9] * 3, start=paused[-1][0])
    assert resumed == [] and again.finished(paused[-1][0] + 0.2) is None


def test_over_the_agent_one_window_of_voice_is_enough_to_stop_it() -> None:
    [(at, started)] = run(TurnTaker(TurnPolicy()), [0.9], agent_speaking=True)
    assert started.kind is Kind.SPEECH_STARTED and at == WINDOW_S
    assert run(TurnTaker(TurnPolicy()), [0.9]) == []  # to start a turn on a quiet line it takes two
