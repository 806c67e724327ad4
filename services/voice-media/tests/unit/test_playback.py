"""Outgoing speech: paced ahead of the ear by a little, stopped where the caller heard it, resumed after a
backchannel, and what was heard of a cut message to the word."""

from afo_voice_media.domain.audio import FRAME_SAMPLES
from afo_voice_media.domain.playback import Playback

SECOND = 8000


def test_frames_leave_at_real_time_plus_the_lead() -> None:
    playback = Playback(lead_ms=60)
    playback.append(b"\x01" * SECOND, "m1", "Hello there.", now=100.0)
    first = playback.due_frames(100.0)
    assert sum(map(len, first)) == 480 and all(len(f) <= FRAME_SAMPLES for f in first)
    assert sum(map(len, playback.due_frames(100.5))) == 4000
    assert playback.speaking(100.9)
    assert sum(map(len, playback.due_frames(101.0))) == SECOND - 4480
    assert not playback.speaking(101.01)


def test_audio_after_a_gap_plays_from_now_instead_of_rushing() -> None:
    playback = Playback(lead_ms=0)
    playback.append(b"\x01" * 800, "m1", "One.", now=0.0)
    playback.due_frames(1.0)
    playback.append(b"\x02" * 800, "m1", "Two.", now=5.0)
    assert sum(map(len, playback.due_frames(5.06))) == 480  # 60 ms since it restarted: three frames


def test_an_interruption_stops_at_the_ear_and_a_backchannel_resumes_there() -> None:
    playback = Playback(lead_ms=60)
    playback.append(b"\x01" * SECOND, "m1", "one two three four", now=0.0)
    playback.due_frames(0.5)
    playback.interrupt(0.5)
    assert playback.heard_position(0.5) == 4000
    assert playback.due_frames(0.6) == [] and not playback.speaking(0.6)
    playback.resume(0.8)
    assert sum(map(len, playback.due_frames(0.8))) == 480
    assert playback.speaking(0.9)


def test_what_was_heard_of_a_cut_message_is_kept_to_the_word() -> None:
    playback = Playback(lead_ms=0)
    playback.append(b"\x01" * SECOND, "m1", "We have three plans.", now=0.0)
    playback.append(b"\x01" * SECOND, "m1", "Basic costs ten dollars a month.", now=0.0)
    playback.due_frames(1.5)
    heard = playback.drop_rest(1.5)
    assert [(h.message_id, h.text) for h in heard] == [("m1", "We have three plans. Basic costs ten")]
    assert not playback.speaking(1.6)


def test_heard_audio_is_forgotten() -> None:
    playback = Playback(lead_ms=0)
    playback.append(b"\x01" * SECOND, "m1", "One.", now=0.0)
    playback.due_frames(2.0)
    playback.forget_heard(2.0)
    assert playback.queued == 0 and playback.heard_position(2.0) == 0
    playback.append(b"\x01" * 800, "m2", "Two.", now=3.0)
    assert sum(map(len, playback.due_frames(3.1))) == 800
