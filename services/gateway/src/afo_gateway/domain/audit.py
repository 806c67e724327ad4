"""The tenant's audit log as its owners and admins read it: which entries a query asks for, and how an entry
reads in the CSV export. Plain Python; the entries themselves are ``adapters/accounts_repository.AuditEntry``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from afo_gateway.domain.errors import Invalid

# An export is a bounded read of one tenant's entries: past this many rows the CSV stops (narrow the period with
# ``since``/``until`` and export again). A limit keeps one request from holding a connection for minutes.
EXPORT_MAX_ROWS = 100_000
# Rows read per query while an export streams: one page of the database at a time, never the whole log in memory.
EXPORT_PAGE_ROWS = 1_000
CSV_COLUMNS = ("at", "actor", "actor_name", "action", "target", "id")


@dataclass(frozen=True)
class AuditQuery:
    """Which entries: ``action`` is a prefix (``agent.`` matches ``agent.create`` and ``agent.publish``),
    ``actor`` a user or key id, ``since`` inclusive and ``until`` exclusive."""

    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.utcoffset() is None:
                raise Invalid(f"{name} needs a time zone (e.g. 2026-12-01T00:00:00Z)",
                              [{"loc": ["query", name], "msg": "a datetime with a time zone",
                                "type": "timezone_aware"}])
            if value is not None:  # compared in UTC, as the entries are kept
                object.__setattr__(self, name, value.astimezone(UTC))
        if self.since and self.until and self.since >= self.until:
            raise Invalid("since must be before until", [{"loc": ["query", "until"], "msg": "not after since",
                                                           "type": "value_error"}])


def csv_row(at: datetime, actor: str, actor_name: str | None, action: str, target: str | None,
            entry_id: str) -> list[str]:
    """One entry as the export writes it, in the order of ``CSV_COLUMNS``; a cell a spreadsheet would run as a
    formula (``=``, ``+``, ``-``, ``@``) is quoted with a leading apostrophe (CSV injection)."""
    cells = [at.isoformat(), actor, actor_name or "", action, target or "", entry_id]
    return [f"'{c}" if c[:1] in ("=", "+", "-", "@") else c for c in cells]
