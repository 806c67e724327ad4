"""Reply deltas: a whole reply is one delta; a model's pieces go out first at once, then gathered."""

import json
from datetime import UTC, datetime

from afo_agent_runtime.handlers.realtime import COALESCE_S, DeltaStream, Realtime
from afo_common.realtime import MeetingBookedNotice, MeetingCancelledNotice, MeetingFailedNotice, parse_subject


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Published:
    def __init__(self) -> None:
        self.notices: list[tuple[str, dict[str, object]]] = []

    async def __call__(self, subject: str, data: bytes) -> None:
        self.notices.append((subject, json.loads(data)))

    def texts(self) -> list[object]:
        return [notice["text"] for _, notice in self.notices]


def stream(published: Published, clock: Clock) -> DeltaStream:
    return DeltaStream(Realtime(published), "ten_1", "conv_1", "msg_reply", "msg_in", clock=clock)


async def test_a_reply_produced_whole_is_one_delta() -> None:
    published = Published()
    deltas = stream(published, Clock())

    await deltas.text("Hi! I'm Ava from Acme. What's the best email for you?")

    [(subject, notice)] = published.notices
    assert subject == "afo.rt.ten_1.conv_1.reply_delta"
    assert notice == {"type": "reply.delta", "message_id": "msg_reply", "in_reply_to": "msg_in", "index": 0,
                      "text": "Hi! I'm Ava from Acme. What's the best email for you?"}


async def test_a_models_first_piece_goes_at_once_and_the_next_are_gathered() -> None:
    published, clock = Published(), Clock()
    deltas = stream(published, clock)

    await deltas.delta("Thanks ")
    clock.now += 0.01
    await deltas.delta("Dana! ")
    clock.now += 0.01
    await deltas.delta("What ")
    assert published.texts() == ["Thanks "]
    clock.now += COALESCE_S
    await deltas.delta("does ")
    clock.now += 0.01
    await deltas.delta("Acme need?")
    await deltas.finish()

    assert published.texts() == ["Thanks ", "Dana! What does ", "Acme need?"]
    assert [notice["index"] for _, notice in published.notices] == [0, 1, 2]
    assert deltas.first_delta_ms == 0.0


async def test_finish_sends_nothing_when_nothing_waits() -> None:
    published = Published()
    deltas = stream(published, Clock())

    await deltas.delta("Hello.")
    await deltas.finish()
    await deltas.delta("")

    assert published.texts() == ["Hello."]


async def test_meeting_notices_go_out_on_subjects_the_gateway_relays_by_kind() -> None:
    published = Published()
    realtime = Realtime(published)
    start = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
    await realtime.send("ten_1", "conv_1", MeetingBookedNotice(meeting_id="mtg_1", start=start, end=start,
                                                               timezone="America/New_York", message_id="msg_1"))
    await realtime.send("ten_1", "conv_1", MeetingFailedNotice(reason="slot_taken", alternatives=[start]))
    await realtime.send("ten_1", "conv_1", MeetingCancelledNotice(meeting_id="mtg_1", by="lead"))

    subjects = [subject for subject, _ in published.notices]
    assert [parse_subject(s) for s in subjects] == [("ten_1", "conv_1", "meeting.booked"),
                                                    ("ten_1", "conv_1", "meeting.failed"),
                                                    ("ten_1", "conv_1", "meeting.cancelled")]
    assert [n["type"] for _, n in published.notices] == ["meeting.booked", "meeting.failed", "meeting.cancelled"]
