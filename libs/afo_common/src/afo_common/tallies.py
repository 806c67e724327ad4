"""Tallies: counts of what happens on every message's path, added up in the transaction that does the counted
thing and shipped as one event per key and window, instead of an event per occurrence for someone else to count.

A service keeps a tally table (``tally_table``: the tenant, its key columns, the window's start and its sums).
``add`` adds to the current window's row on the driver (``afo_common.hot_sql``), inside the counted thing's own
transaction, so a count is never lost nor made twice: a rolled-back turn is not counted, a redelivered one is
refused by the inbox before it counts. ``TallyCloser`` (a periodic job) takes every row whose window ended
``grace_s`` ago out of the table and emits its event in the same transaction.

Why not count the events themselves: a consumer's delivery costs its service the generic consume path (tenths
of a millisecond of CPU), and every message's events already reach several consumers; a tally costs the
counting transaction one upsert.

A window's rows can meet a late addition (a transaction that began before the closer ran and commits after it):
it starts the row again, and the window's second event carries the rest. Consumers add what they receive, so
nothing is lost; they must not assume one event per window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Float, Integer, MetaData, PrimaryKeyConstraint, String, Table

from afo_common.db import UtcDateTime
from afo_common.events import Event
from afo_common.hot_sql import HotTransaction, Sql
from afo_common.messaging.unit_of_work import UnitOfWorkFactory

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tally_table(metadata: MetaData, name: str, keys: Sequence[str],
                sums: Sequence[tuple[str, type[Integer] | type[Float[float]]]]) -> Table:
    """The table: one row per tenant, key and window. Key columns hold '' rather than NULL (a primary key's
    columns are never NULL)."""
    return Table(
        name, metadata,
        Column("tenant_id", String(40), nullable=False),
        *(Column(key, String(64), nullable=False) for key in keys),
        Column("window_start", UtcDateTime(), nullable=False),
        *(Column(column, kind(), nullable=False) for column, kind in sums),
        PrimaryKeyConstraint("tenant_id", *keys, "window_start", name=f"pk_{name}"),
    )


@dataclass(frozen=True)
class Tally:
    """One tally table's statements, and the window its rows are counted in."""

    table: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]
    window_s: int

    @classmethod
    def of(cls, table: Table, window_s: int) -> Tally:
        """The statements of a table ``tally_table`` made."""
        key_columns = [c.name for c in table.primary_key.columns if c.name not in ("tenant_id", "window_start")]
        sums = [c.name for c in table.columns if not c.primary_key]
        return cls(table.name, tuple(key_columns), tuple(sums), window_s)

    @property
    def _columns(self) -> tuple[str, ...]:
        return ("tenant_id", *self.keys, "window_start", *self.sums)

    @property
    def add_sql(self) -> Sql:
        placeholders = ", ".join(f"${i}" for i in range(1, len(self._columns) + 1))
        added = ", ".join(f"{s} = {self.table}.{s} + excluded.{s}" for s in self.sums)
        return Sql(f"INSERT INTO {self.table} ({', '.join(self._columns)}) VALUES ({placeholders}) "
                   f"ON CONFLICT (tenant_id, {', '.join(self.keys)}, window_start) DO UPDATE SET {added}")

    @property
    def take_sql(self) -> Sql:
        return Sql(f"DELETE FROM {self.table} WHERE window_start <= $1 RETURNING {', '.join(self._columns)}")

    def window(self, at: datetime) -> datetime:
        """The start of the window ``at`` falls in (windows are aligned to the Unix epoch)."""
        seconds = (at - EPOCH) // timedelta(seconds=1)
        return EPOCH + timedelta(seconds=seconds - seconds % self.window_s)

    async def add(self, tx: HotTransaction, tenant_id: str, keys: Sequence[str], at: datetime,
                  sums: Sequence[float]) -> None:
        await tx.execute(self.add_sql, tenant_id, *keys, tx.time(self.window(at)), *sums)


@dataclass(frozen=True)
class Counted:
    """A closed window's row: its tenant, its keys, its sums, by column name."""

    tenant_id: str
    keys: dict[str, str]
    window_start: datetime
    sums: dict[str, float]


class TallyCloser:
    """Takes every row whose window ended ``grace_s`` ago and emits ``event(row)`` for it, in one transaction."""

    def __init__(self, tally: Tally, units: UnitOfWorkFactory, event: Callable[[Counted], Event], *,
                 grace_s: float, now: Callable[[], datetime]) -> None:
        self._tally, self._units, self._event, self._grace_s, self._now = tally, units, event, grace_s, now

    async def __call__(self) -> None:
        tally = self._tally
        # A window [start, start + window_s) is closed once its end lies grace_s in the past.
        latest = self._now() - timedelta(seconds=tally.window_s + self._grace_s)
        async with self._units.hot() as uow:
            rows = await uow.tx.fetch(tally.take_sql, uow.tx.time(latest))
            closed = [Counted(row["tenant_id"], {k: row[k] for k in tally.keys},
                              uow.tx.read_time(row["window_start"]), {s: row[s] for s in tally.sums})
                      for row in rows]
            # Oldest window first: a consumer counting by time sees a key's windows in order.
            for counted in sorted(closed, key=lambda c: c.window_start):
                await uow.emit(self._event(counted), tenant_id=counted.tenant_id)
