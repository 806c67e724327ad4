"""The audit log's handler and repositories, on every backend (``conftest.py``): in memory, SQLite, PostgreSQL.
Entries newest first a page at a time, each filter (an action prefix taken literally, the actor, a period), one
tenant's entries only, who the actors are, who may read, and the export's bound."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from afo_common.db import Database
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.adapters.tables import audit_log
from afo_gateway.domain.access import ROLE_PERMISSIONS, Principal
from afo_gateway.domain.audit import AuditQuery, csv_row
from afo_gateway.domain.errors import Forbidden, Invalid
from afo_gateway.handlers import audit as audit_handler
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts, SignedUp
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.authentication import Authenticator, key_principal, user_principal
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import T0, SteppingClock
from afo_testkit.passwords import CHEAP_HASHER


async def tenant(store: Store, clock: SteppingClock, email: str) -> SignedUp:
    access = AccessChanges(Authenticator(store, clock), LiveStreams(asyncio.Event()))
    return await Accounts(store, Passwords(2, CHEAP_HASHER), access, clock).signup(email, "correct horse battery",
                                                                                   "Acme", "UTC")


EVERYTHING = AuditQuery()


async def all_of(trail: AuditTrail, principal: Principal, query: AuditQuery = EVERYTHING) -> list[str]:
    page = await trail.page(principal, query, 100, None)
    return [e.action for e in page.entries]


async def test_changes_read_newest_first_a_page_at_a_time_with_who_made_them(store: Store,
                                                                             clock: SteppingClock) -> None:
    acme = await tenant(store, clock, "owner@acme.example")
    trail = AuditTrail(store, clock)
    owner, key = user_principal(acme.user), key_principal(acme.key)
    await trail.changed(owner, "agent.create", "agt_1")
    await trail.changed(key, "agent.publish", "agt_1:v1")
    await trail.changed(owner, "workflow.enable", "wf_1")

    first = await trail.page(owner, AuditQuery(), 2, None)
    second = await trail.page(owner, AuditQuery(), 2, first.next_cursor)

    assert [(e.action, e.actor, e.target) for e in first.entries] == [
        ("workflow.enable", acme.user.id, "wf_1"), ("agent.publish", acme.key.id, "agt_1:v1")]
    assert first.next_cursor == first.entries[-1].id
    assert [e.action for e in second.entries] == ["agent.create", "tenant.signup"]
    assert second.next_cursor == second.entries[-1].id  # a full page: one more, empty, ends it
    assert (await trail.page(owner, AuditQuery(), 2, second.next_cursor)).entries == []
    assert first.names == {acme.user.id: "owner@acme.example", acme.key.id: "API key default"}
    assert first.entries[0].at > first.entries[1].at and first.entries[0].at.tzinfo is not None


async def test_the_filters_narrow_the_entries(store: Store) -> None:
    clock = SteppingClock(T0, timedelta(hours=1))
    acme = await tenant(store, clock, "owner@acme.example")            # tenant.signup at T0 (+ its readings)
    trail = AuditTrail(store, clock)
    owner, key = user_principal(acme.user), key_principal(acme.key)
    await trail.changed(owner, "knowledge_base.create", "kb_1")
    await trail.changed(key, "knowledgeXbase.create", "kb_2")          # "_" is a character, not a wildcard
    await trail.changed(owner, "agent.create", "agt_1")
    entries = (await trail.page(owner, AuditQuery(), 100, None)).entries
    at = {e.action: e.at for e in entries}

    assert await all_of(trail, owner, AuditQuery(action="knowledge_base.")) == ["knowledge_base.create"]
    assert await all_of(trail, owner, AuditQuery(action="agent")) == ["agent.create"]
    assert await all_of(trail, owner, AuditQuery(actor=acme.key.id)) == ["knowledgeXbase.create"]
    assert await all_of(trail, owner, AuditQuery(since=at["knowledgeXbase.create"])) == [
        "agent.create", "knowledgeXbase.create"]                        # since: inclusive
    assert await all_of(trail, owner, AuditQuery(until=at["knowledgeXbase.create"])) == [
        "knowledge_base.create", "tenant.signup"]                       # until: exclusive
    paris = at["agent.create"].astimezone(ZoneInfo("Europe/Paris"))
    assert await all_of(trail, owner, AuditQuery(since=paris, actor=acme.user.id)) == ["agent.create"]


async def test_a_tenant_reads_only_its_own_entries_and_names(store: Store, clock: SteppingClock) -> None:
    acme = await tenant(store, clock, "owner@acme.example")
    other = await tenant(store, clock, "owner@other.example")
    trail = AuditTrail(store, clock)
    await trail.changed(user_principal(other.user), "agent.delete", "agt_9")

    mine = await trail.page(user_principal(acme.user), AuditQuery(), 100, None)
    # Another tenant's actor asked for by id is not found, nor named.
    theirs = await trail.page(user_principal(acme.user), AuditQuery(actor=other.user.id), 100, None)

    assert [(e.action, e.target) for e in mine.entries] == [("tenant.signup", acme.tenant.id)]
    assert theirs.entries == []
    async with store.reading() as repos:
        assert await repos.audit.actor_names(acme.tenant.id, [other.user.id, acme.user.id, "usr_gone"]) == {
            acme.user.id: "owner@acme.example"}


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("admin", True), ("member", False)])
async def test_owners_admins_and_secret_keys_read_the_log_members_do_not(store: Store, clock: SteppingClock,
                                                                         role: str, allowed: bool) -> None:
    acme = await tenant(store, clock, "owner@acme.example")
    trail = AuditTrail(store, clock)
    person = Principal(acme.tenant.id, "user", "usr_someone", ROLE_PERMISSIONS[role])  # type: ignore[index]

    if allowed:
        assert await all_of(trail, person) == ["tenant.signup"]
    else:
        with pytest.raises(Forbidden):
            await trail.page(person, AuditQuery(), 10, None)
        with pytest.raises(Forbidden):
            await trail.export(person, AuditQuery())
    assert await all_of(trail, key_principal(acme.key)) == ["tenant.signup"]


async def test_the_export_reads_page_by_page_and_stops_at_its_bound(store: Store, clock: SteppingClock,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_handler, "EXPORT_PAGE_ROWS", 2)
    monkeypatch.setattr(audit_handler, "EXPORT_MAX_ROWS", 5)
    acme = await tenant(store, clock, "owner@acme.example")
    trail = AuditTrail(store, clock)
    owner = user_principal(acme.user)
    for n in range(6):
        await trail.changed(owner, "agent.update", f"agt_{n}")

    pages = [page async for page in await trail.export(owner, AuditQuery(action="agent."))]

    assert [len(p.entries) for p in pages] == [2, 2, 1]
    assert [e.target for p in pages for e in p.entries] == ["agt_5", "agt_4", "agt_3", "agt_2", "agt_1"]
    everything = [e.target for p in await _pages(trail, owner) for e in p.entries]
    assert everything[:2] == ["agt_5", "agt_4"] and len(everything) == 5


async def _pages(trail: AuditTrail, owner: Principal) -> list[audit_handler.AuditPage]:
    return [page async for page in await trail.export(owner, AuditQuery())]


def test_a_query_needs_zoned_times_in_order_and_keeps_them_in_utc() -> None:
    with pytest.raises(Invalid):
        AuditQuery(since=datetime(2026, 12, 1))
    with pytest.raises(Invalid):
        AuditQuery(since=datetime(2026, 12, 2, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC))
    zoned = AuditQuery(since=datetime(2026, 12, 1, 1, tzinfo=ZoneInfo("Europe/Paris")))
    assert zoned.since == datetime(2026, 12, 1, 0, tzinfo=UTC) and zoned.since.tzinfo is UTC


def test_a_csv_cell_a_spreadsheet_would_run_is_defused() -> None:
    row = csv_row(datetime(2026, 12, 1, tzinfo=UTC), "usr_1", "=HYPERLINK(\"x\")", "agent.create", None, "aud_1")

    assert row == ["2026-12-01T00:00:00+00:00", "usr_1", "'=HYPERLINK(\"x\")", "agent.create", "", "aud_1"]


def drift(connection: Connection) -> list[object]:
    only = MetaData()
    audit_log.to_metadata(only)
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": lambda name, kind, _:
                                                           kind != "table" or name == "audit_log"})
    return list(compare_metadata(context, only))


async def test_the_migrations_make_the_audit_log_as_the_tables_declare_it_with_its_paging_index(
        db: Database) -> None:
    async with db.engine.connect() as connection:
        assert await connection.run_sync(drift) == []
