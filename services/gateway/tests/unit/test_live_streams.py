"""The registry of open SSE streams: which streams a revocation, a logout or a demotion ends, and that a
drain ends them all, including one opened after it began."""

import asyncio

from afo_gateway.domain.access import ROLE_PERMISSIONS, SECRET_KEY_PERMISSIONS, Permission, Principal
from afo_gateway.handlers.live_streams import DEMOTED, DRAINING, KEY_REVOKED, SESSION_ENDED, LiveStreams

KEY = Principal("ten_1", "secret_key", "key_1", SECRET_KEY_PERMISSIONS, credential="digest-key-1")
OTHER_KEY = Principal("ten_1", "secret_key", "key_2", SECRET_KEY_PERMISSIONS, credential="digest-key-2")
LAPTOP = Principal("ten_1", "user", "usr_1", ROLE_PERMISSIONS["admin"], credential="digest-laptop")
PHONE = Principal("ten_1", "user", "usr_1", ROLE_PERMISSIONS["admin"], credential="digest-phone")


async def ended_within(stream_ended: "asyncio.Future[object]", seconds: float = 0.5) -> object:
    return await asyncio.wait_for(stream_ended, seconds)


async def test_a_revoked_key_ends_its_streams_only() -> None:
    streams = LiveStreams(asyncio.Event())
    with streams.open(KEY) as doomed, streams.open(OTHER_KEY) as kept:
        waits = asyncio.ensure_future(doomed.ended()), asyncio.ensure_future(kept.ended())

        streams.key_revoked("key_1")

        assert await ended_within(waits[0]) == KEY_REVOKED
        await asyncio.sleep(0.05)
        assert not waits[1].done()
        waits[1].cancel()


async def test_a_logout_ends_the_streams_of_that_session_only() -> None:
    streams = LiveStreams(asyncio.Event())
    with streams.open(LAPTOP) as laptop, streams.open(PHONE) as phone:
        waits = asyncio.ensure_future(laptop.ended()), asyncio.ensure_future(phone.ended())

        streams.session_ended("usr_1", "digest-laptop")

        assert await ended_within(waits[0]) == SESSION_ENDED
        await asyncio.sleep(0.05)
        assert not waits[1].done()
        waits[1].cancel()


async def test_a_demotion_ends_the_users_streams_and_a_promotion_does_not() -> None:
    streams = LiveStreams(asyncio.Event())
    with streams.open(LAPTOP) as laptop:
        wait = asyncio.ensure_future(laptop.ended())
        streams.role_changed("usr_1", frozenset(Permission))  # owner: more than admin had
        await asyncio.sleep(0.05)
        assert not wait.done()

        streams.role_changed("usr_1", ROLE_PERMISSIONS["operator"])

        assert await ended_within(wait) == DEMOTED
        assert DEMOTED.reconnect and not KEY_REVOKED.reconnect


async def test_a_drain_ends_every_stream_even_one_opened_after_it() -> None:
    draining = asyncio.Event()
    streams = LiveStreams(draining)
    with streams.open(KEY) as open_before:
        wait = asyncio.ensure_future(open_before.ended())

        draining.set()

        assert await ended_within(wait) == DRAINING
        with streams.open(OTHER_KEY) as open_after:
            assert await ended_within(asyncio.ensure_future(open_after.ended())) == DRAINING


async def test_a_closed_stream_leaves_the_registry() -> None:
    streams = LiveStreams(asyncio.Event())
    with streams.open(KEY):
        pass
    with streams.open(KEY) as reopened:
        streams.key_revoked("key_1")
        assert await ended_within(asyncio.ensure_future(reopened.ended())) == KEY_REVOKED
    streams.key_revoked("key_1")  # nothing open: nothing to end
