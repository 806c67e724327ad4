"""Argon2id behind a bounded semaphore, and a dummy check for unknown emails so a login's cost does not
tell whether an account exists. Counted, not timed: a hasher that records its calls."""

import asyncio
import threading
import time

import pytest
from argon2 import PasswordHasher

from afo_common.clock import SystemClock
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.domain.errors import Unauthorized
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts
from afo_gateway.handlers.authentication import Authenticator
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.unit_of_work import Store

PASSWORD = "correct horse battery"


class CountingHasher(PasswordHasher):
    """Cheap parameters (the cost is not under test) and a record of what ran, and how many at once."""

    def __init__(self, hold_s: float = 0.0) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.hold_s = hold_s
        self.verified: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def _enter(self) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.hold_s)

    def _leave(self) -> None:
        with self._lock:
            self.running -= 1

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._enter()
        try:
            return super().hash(password, salt=salt)
        finally:
            self._leave()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self._enter()
        try:
            self.verified.append(str(hash))
            return super().verify(hash, password)
        finally:
            self._leave()


@pytest.mark.parametrize("limit", [1, 2])
async def test_no_more_than_the_limit_hash_or_verify_at_once(limit: int) -> None:
    hasher = CountingHasher(hold_s=0.05)
    passwords = Passwords(limit, hasher)
    stored = await passwords.hash(PASSWORD)

    await asyncio.gather(*(passwords.hash(PASSWORD) for _ in range(4)),
                         *(passwords.verify(stored, PASSWORD) for _ in range(4)))

    assert hasher.most_at_once == limit


async def test_a_right_and_a_wrong_password() -> None:
    passwords = Passwords(1, CountingHasher())
    stored = await passwords.hash(PASSWORD)

    assert await passwords.verify(stored, PASSWORD)
    assert not await passwords.verify(stored, "wrong horse battery")
    assert not await passwords.verify("not a hash", PASSWORD)


async def test_no_account_is_checked_against_a_dummy_hash_and_never_matches() -> None:
    hasher = CountingHasher()
    passwords = Passwords(1, hasher)

    assert not await passwords.verify(None, PASSWORD)
    assert not await passwords.verify(None, PASSWORD)

    assert len(hasher.verified) == 2
    assert hasher.verified[0] == hasher.verified[1]  # one dummy, made once
    assert hasher.verified[0].startswith("$argon2id$")


def accounts(store: Store, hasher: PasswordHasher) -> Accounts:
    clock = SystemClock()
    access = AccessChanges(Authenticator(store, clock), LiveStreams(asyncio.Event()))
    return Accounts(store, Passwords(2, hasher), access, clock)


@pytest.mark.parametrize(("email", "password"), [("nobody@example.com", PASSWORD),
                                                 ("owner@example.com", "wrong horse battery")])
async def test_a_failed_login_checks_one_password_whether_or_not_the_account_exists(
        store: Store, email: str, password: str) -> None:
    hasher = CountingHasher()
    handler = accounts(store, hasher)
    await handler.signup("owner@example.com", PASSWORD, "Acme", "UTC")

    with pytest.raises(Unauthorized) as raised:
        await handler.login(email, password)

    assert len(hasher.verified) == 1
    assert raised.value.detail == "email or password is wrong"
