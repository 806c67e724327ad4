"""Integrators' event credentials as the handler keeps them, on every backend (``conftest.py``): in memory,
SQLite, PostgreSQL. (``tests/integration/test_event_credentials.py`` runs them through a real NATS.)"""

from collections.abc import Awaitable, Callable

import pytest

from afo_common.events import Envelope
from afo_gateway.domain.access import SECRET_KEY_PERMISSIONS, Principal, hash_secret
from afo_gateway.domain.errors import Forbidden, NotFound
from afo_gateway.handlers.event_credentials import Admission, EventCredentials
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import T0, SteppingClock

Committed = Callable[[], Awaitable[list[Envelope]]]


def admin(tenant_id: str = "ten_a") -> Principal:
    return Principal(tenant_id, "secret_key", f"key_{tenant_id}", SECRET_KEY_PERMISSIONS)


class Kicker:
    def __init__(self) -> None:
        self.kicked: list[str] = []

    async def kick(self, credential_id: str) -> int:
        self.kicked.append(credential_id)
        return 1


async def test_a_credential_is_issued_once_admitted_by_its_secret_and_announced(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    credentials = EventCredentials(store, clock)

    row, secret = await credentials.create(admin(), "  crm sync ")

    assert (row.name, row.tenant_id, row.created_at, row.revoked_at) == ("crm sync", "ten_a", T0, None)
    assert row.secret_hash == hash_secret(secret) and secret not in (row.hint, row.secret_hash)
    assert await credentials.admit(row.id, secret) == Admission(row.id, "ten_a")
    assert await credentials.admit("evc_other", secret) is None
    assert await credentials.admit(row.id, secret + "x") is None
    assert await credentials.admit(row.id, "not-a-secret") is None
    event = (await committed())[-1]
    assert (event.type, event.tenantid, event.data) == ("afo.event_credential.created.v1", "ten_a",
                                                        {"credential_id": row.id, "name": "crm sync"})


async def test_credentials_are_listed_per_tenant_newest_first_and_revoked_ones_dropped(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    kicker = Kicker()
    credentials = EventCredentials(store, clock, kicker)
    made = [(await credentials.create(admin(), f"c{n}"))[0] for n in range(3)]
    other, other_secret = await credentials.create(admin("ten_b"), "theirs")

    await credentials.revoke(admin(), made[0].id)

    listed = await credentials.list(admin(), 1, None)
    rest = await credentials.list(admin(), 5, listed[-1].id)
    assert [c.id for c in listed + rest] == sorted([made[1].id, made[2].id], reverse=True)
    assert [c.id for c in await credentials.list(admin("ten_b"), 5, None)] == [other.id]
    assert kicker.kicked == [made[0].id]
    assert (await committed())[-1].data == {"credential_id": made[0].id}
    for tenant, credential_id in (("ten_a", made[0].id), ("ten_a", other.id)):
        with pytest.raises(NotFound):
            await credentials.revoke(admin(tenant), credential_id)
    assert await credentials.admit(other.id, other_secret) == Admission(other.id, "ten_b")


async def test_a_revoked_credential_is_refused_and_a_reader_may_not_issue(store: Store, clock: SteppingClock) -> None:
    credentials = EventCredentials(store, clock)
    row, secret = await credentials.create(admin(), "crm")

    await credentials.revoke(admin(), row.id)

    assert await credentials.admit(row.id, secret) is None
    reader = Principal("ten_a", "user", "usr_1", frozenset())
    with pytest.raises(Forbidden):
        await credentials.create(reader, "mine")
