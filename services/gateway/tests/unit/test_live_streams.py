"""The registry of open SSE streams: which streams a revocation, a logout or a demotion ends, that a drain
ends them all (including one opened after it began), keep-alives, and a reader that does not keep up."""

import asyncio

import pytest

from afo_common.conversation_feed import LiveNotice
from afo_common.realtime import ReplyCompleted
from afo_gateway.domain.access import ROLE_PERMISSIONS, SECRET_KEY_PERMISSIONS, Permission, Principal
from afo_gateway.handlers import live_streams
from afo_gateway.handlers.live_streams import (
    DEMOTED,
    DRAINING,
    KEEP_ALIVE,
    KEY_REVOKED,
    SESSION_ENDED,
    Ending,
    LiveStreams,
    OpenStream,
)

KEY = Principal("ten_1", "secret_key", "key_1", SECRET_KEY_PERMISSIONS, credential="digest-key-1")
OTHER_KEY = Principal("ten_1", "secret_key", "key_2", SECRET_KEY_PERMISSIONS, credential="digest-key-2")
LAPTOP = Principal("ten_1", "user", "usr_1", ROLE_PERMISSIONS["admin"], credential="digest-laptop")
PHONE = Principal("ten_1", "user", "usr_1", ROLE_PERMISSIONS["admin"], credential="digest-phone")
NOTICE = LiveNotice("reply.delta", b'{"type": "reply.delta"}')


async def ending(stream: OpenStream, seconds: float = 0.5) -> Ending:
    while True:
        item = await asyncio.wait_for(stream.items.get(), seconds)
        if isinstance(item, Ending):
            return item




async def test_a_revoked_key_ends_its_streams_only(streams: LiveStreams) -> None:
    with streams.open(KEY) as doomed, streams.open(OTHER_KEY) as kept:
        streams.key_revoked("key_1")

        assert await ending(doomed) == KEY_REVOKED
        assert kept.items.empty()


async def test_a_logout_ends_the_streams_of_that_session_only(streams: LiveStreams) -> None:
    with streams.open(LAPTOP) as laptop, streams.open(PHONE) as phone:
        streams.session_ended("usr_1", "digest-laptop")

        assert await ending(laptop) == SESSION_ENDED
        assert phone.items.empty()


async def test_a_demotion_ends_the_users_streams_and_a_promotion_does_not(streams: LiveStreams) -> None:
    with streams.open(LAPTOP) as laptop:
        streams.role_changed("usr_1", frozenset(Permission))  # owner: more than admin had
        assert laptop.items.empty()

        streams.role_changed("usr_1", ROLE_PERMISSIONS["operator"])

        assert await ending(laptop) == DEMOTED
        assert DEMOTED.reconnect and not KEY_REVOKED.reconnect


async def test_a_drain_ends_every_stream_even_one_opened_after_it(streams: LiveStreams,
                                                                  draining: asyncio.Event) -> None:
    with streams.open(KEY) as open_before:
        draining.set()

        assert await ending(open_before) == DRAINING
        with streams.open(OTHER_KEY) as open_after:
            assert await ending(open_after) == DRAINING


async def test_a_closed_stream_leaves_the_registry(streams: LiveStreams) -> None:
    with streams.open(KEY):
        pass
    with streams.open(KEY) as reopened:
        streams.key_revoked("key_1")
        assert await ending(reopened) == KEY_REVOKED
    streams.key_revoked("key_1")  # nothing open: nothing to end


async def test_an_idle_stream_gets_keep_alives_and_a_busy_one_does_not_pile_them_up(
    monkeypatch: pytest.MonkeyPatch, draining: asyncio.Event
) -> None:
    monkeypatch.setattr(live_streams, "HEARTBEAT_S", 0.05)
    registry = LiveStreams(draining)
    await registry.start()
    try:
        with registry.open(KEY) as idle, registry.open(OTHER_KEY) as unread:
            assert await asyncio.wait_for(idle.items.get(), 1.0) is KEEP_ALIVE
            await asyncio.sleep(0.3)
            assert unread.items.qsize() == 1  # one keep-alive waits; the ticker adds no more behind it
    finally:
        await registry.stop()


async def test_a_reader_that_does_not_keep_up_loses_notices_but_still_gets_its_ending(
    streams: LiveStreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_streams, "BACKLOG", 3)
    with streams.open(KEY) as slow:
        for _ in range(5):
            slow.deliver(NOTICE)
        streams.key_revoked("key_1")

        items = [slow.items.get_nowait() for _ in range(slow.items.qsize())]

    assert items == [NOTICE, NOTICE, NOTICE, KEY_REVOKED]


def completed(message_id: str) -> LiveNotice:
    return LiveNotice("reply.completed", ReplyCompleted(message_id=message_id, in_reply_to="msg_in",
                                                        text="Hello").model_dump_json().encode())


async def test_a_reply_announced_again_after_a_redelivery_reaches_the_stream_once(streams: LiveStreams) -> None:
    with streams.open(KEY) as stream:
        for notice in (completed("msg_1"), NOTICE, completed("msg_1"), completed("msg_2"), completed("msg_1")):
            stream.deliver(notice)

        items = [stream.items.get_nowait() for _ in range(stream.items.qsize())]

    assert items == [completed("msg_1"), NOTICE, completed("msg_2")]
