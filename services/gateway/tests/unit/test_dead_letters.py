"""Dead letters for operators (``handlers/dead_letters.py``) on each store, the DEADLETTER stream played by a fake
queue: listed oldest first with a cursor; inspected; replayed once (the event as it was, a new message id) and
discarded once, each recorded with who and when; asking again answers with the first record and does nothing
again; one replayed is not discarded nor one discarded replayed; a failed publish records nothing; an interrupted
removal is finished by the next request; and bad input: malformed ids and cursors, an unknown letter, an unknown
service, anyone but an operator."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReceived
from afo_gateway.domain.access import (
    PLATFORM_TENANT_ID,
    ROLE_PERMISSIONS,
    SECRET_KEY_PERMISSIONS,
    Permission,
    Principal,
)
from afo_gateway.domain.dead_letters import REPLAY_HEADER, DeadLetter, Replay, letter_id
from afo_gateway.domain.errors import DeadLetterSettled, Forbidden, Invalid, NotFound, Unavailable
from afo_gateway.handlers.dead_letters import DeadLetters
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import T0, SteppingClock

OPERATOR = Principal(PLATFORM_TENANT_ID, "user", "usr_ops", ROLE_PERMISSIONS["operator"])
SERVICES = ("gateway", "agent-runtime", "workflow-executor")
FAILED_AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def letter(sequence: int, service: str = "agent-runtime", tenant_id: str = "ten_a") -> DeadLetter:
    event = MessageReceived(conversation_id="conv_1", message_id=f"msg_{sequence}", channel="api", text="hello",
                            sent_at=FAILED_AT)
    envelope = envelope_for(event, tenant_id=tenant_id, source="gateway")
    return DeadLetter(id=letter_id(sequence), sequence=sequence, service=service, stream="CONVERSATION",
                      consumer=f"{service}-message-received", subject=envelope.nats_subject, stream_seq=40 + sequence,
                      num_delivered=5, reason="failed 5 times, last: KeyError at turns.py:10 in reply",
                      failed_at=FAILED_AT, payload=envelope.to_bytes(),
                      headers={"Nats-Msg-Id": envelope.id, "traceparent": "00-abc-def-01"})


class FakeQueue:
    """The DEADLETTER stream as ``adapters/jetstream_admin.py`` gives it: by sequence, oldest first."""

    def __init__(self, *letters: DeadLetter) -> None:
        self.letters = {item.sequence: item for item in letters}
        self.published: list[Replay] = []
        self.fail_publish = False
        self.fail_remove = False

    async def dead_letters(self, after: int, limit: int, service: str | None) -> list[DeadLetter]:
        kept = [item for seq, item in sorted(self.letters.items()) if seq > after and service in (None, item.service)]
        return kept[:limit]

    async def dead_letter(self, sequence: int) -> DeadLetter | None:
        return self.letters.get(sequence)

    async def republish(self, replay: Replay) -> None:
        if self.fail_publish:
            raise Unavailable("JetStream did not answer the replayed event")
        self.published.append(replay)

    async def remove(self, sequence: int) -> bool:
        if self.fail_remove:
            raise Unavailable("JetStream did not answer the dead letter's removal")
        return self.letters.pop(sequence, None) is not None


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue(letter(3), letter(5, "workflow-executor", "ten_b"), letter(8))


@pytest.fixture
def letters(store: Store, queue: FakeQueue, clock: SteppingClock) -> DeadLetters:
    return DeadLetters(store, queue, clock, SERVICES)


async def test_letters_are_listed_oldest_first_page_by_page_and_by_service(letters: DeadLetters) -> None:
    first, cursor = await letters.page(OPERATOR, 2, None, None)
    rest, end = await letters.page(OPERATOR, 2, cursor, None)
    theirs, _ = await letters.page(OPERATOR, 10, None, "workflow-executor")

    assert [item.letter.id for item in first + rest] == ["dlq_3", "dlq_5", "dlq_8"]
    assert cursor == "5" and end is None
    assert [item.letter.id for item in theirs] == ["dlq_5"]
    assert first[0].letter.tenant_id == "ten_a" and first[0].letter.event[1] == "afo.conversation.message_received.v1"
    assert all(item.action is None for item in first + rest)


async def test_a_replay_sends_the_event_as_it_was_with_a_new_message_id_once(
        letters: DeadLetters, queue: FakeQueue, store: Store) -> None:
    original = queue.letters[3]

    first = await letters.replay(OPERATOR, "dlq_3")
    again = await letters.replay(OPERATOR, "dlq_3")

    [sent] = queue.published
    assert (sent.subject, sent.payload) == (original.subject, original.payload)
    assert json.loads(sent.payload)["id"] == original.headers["Nats-Msg-Id"]  # the consumers' inbox key, kept
    assert sent.headers == {"Nats-Msg-Id": "replay-dlq_3", REPLAY_HEADER: "dlq_3", "traceparent": "00-abc-def-01"}
    assert (first.action, first.actor, first.at, first.tenant_id) == ("replayed", "usr_ops", T0, "ten_a")
    assert again == first and 3 not in queue.letters
    inspected = await letters.get(OPERATOR, "dlq_3")
    assert inspected.letter is None and inspected.action == first
    async with store.reading() as repos:
        audit = await repos.audit.entries(PLATFORM_TENANT_ID)
    assert [(e.actor, e.action, e.target) for e in audit] == [("usr_ops", "dead_letter.replayed", "dlq_3")]


async def test_a_discard_removes_the_letter_once_and_settles_it_for_good(letters: DeadLetters,
                                                                         queue: FakeQueue) -> None:
    discarded = await letters.discard(OPERATOR, "dlq_5")
    again = await letters.discard(OPERATOR, "dlq_5")
    await letters.replay(OPERATOR, "dlq_8")

    with pytest.raises(DeadLetterSettled):
        await letters.replay(OPERATOR, "dlq_5")
    with pytest.raises(DeadLetterSettled):
        await letters.discard(OPERATOR, "dlq_8")
    assert again == discarded and discarded.action == "discarded"
    assert [r.headers[REPLAY_HEADER] for r in queue.published] == ["dlq_8"]
    assert sorted(queue.letters) == [3]


async def test_a_failed_publish_records_nothing_and_a_failed_removal_is_finished_by_the_next_request(
        letters: DeadLetters, queue: FakeQueue) -> None:
    queue.fail_publish = True
    with pytest.raises(Unavailable):
        await letters.replay(OPERATOR, "dlq_3")
    assert (await letters.get(OPERATOR, "dlq_3")).action is None

    queue.fail_publish, queue.fail_remove = False, True
    with pytest.raises(Unavailable):
        await letters.replay(OPERATOR, "dlq_3")  # published and recorded; its removal did not happen
    listed, _ = await letters.page(OPERATOR, 10, None, None)
    first = listed[0]
    assert (first.letter.id, first.action.action if first.action else None) == ("dlq_3", "replayed")

    queue.fail_remove = False
    await letters.replay(OPERATOR, "dlq_3")
    assert len(queue.published) == 1 and 3 not in queue.letters


async def test_a_letter_without_an_event_is_discarded_not_replayed(letters: DeadLetters, queue: FakeQueue) -> None:
    queue.letters[9] = replace(letter(9), subject="", payload=b"")  # its message left the stream first
    queue.letters[10] = replace(letter(10), stream="WORKFLOW")  # a subject its stream does not take

    with pytest.raises(DeadLetterSettled):
        await letters.replay(OPERATOR, "dlq_9")
    with pytest.raises(DeadLetterSettled):
        await letters.replay(OPERATOR, "dlq_10")
    assert (await letters.discard(OPERATOR, "dlq_9")).action == "discarded"
    assert queue.published == []


@pytest.mark.parametrize("bad", ["3", "dlq_", "dlq_0", "dlq_03", "dlq_x", "DLQ_3", "dlq_3 ", "dlq_" + "9" * 19])
async def test_a_malformed_id_is_invalid_and_an_unknown_one_not_found(letters: DeadLetters, bad: str) -> None:
    for act in (letters.get, letters.replay, letters.discard):
        with pytest.raises(Invalid):
            await act(OPERATOR, bad)
        with pytest.raises(NotFound):
            await act(OPERATOR, "dlq_999")


@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "1.5", "9" * 19])
async def test_a_cursor_the_list_did_not_give_is_invalid(letters: DeadLetters, cursor: str) -> None:
    with pytest.raises(Invalid):
        await letters.page(OPERATOR, 10, cursor, None)


async def test_an_unknown_service_is_invalid(letters: DeadLetters) -> None:
    with pytest.raises(Invalid):
        await letters.page(OPERATOR, 10, None, "billing")


@pytest.mark.parametrize("principal", [
    Principal("ten_a", "user", "usr_owner", ROLE_PERMISSIONS["owner"]),
    Principal("ten_a", "user", "usr_admin", ROLE_PERMISSIONS["admin"]),
    Principal("ten_a", "user", "usr_member", ROLE_PERMISSIONS["member"]),
    Principal("ten_a", "secret_key", "key_1", SECRET_KEY_PERMISSIONS),
    Principal(PLATFORM_TENANT_ID, "user", "usr_viewer", frozenset({Permission.VIEW_PLATFORM})),  # sees, manages not
])
async def test_only_who_manages_the_platform_touches_dead_letters(letters: DeadLetters, queue: FakeQueue,
                                                                  principal: Principal) -> None:
    with pytest.raises(Forbidden):
        await letters.page(principal, 10, None, None)
    for act in (letters.get, letters.replay, letters.discard):
        with pytest.raises(Forbidden):
            await act(principal, "dlq_3")
    assert queue.published == [] and sorted(queue.letters) == [3, 5, 8]
