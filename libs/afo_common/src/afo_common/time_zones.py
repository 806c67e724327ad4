"""Which time-zone names AFO accepts, the one rule every service applies (a tenant's, an agent's, a calendar's).

Accepted: ``UTC`` and IANA ``Area/Location`` names (``America/New_York``, ``Europe/Paris``, ``Etc/GMT+5``).
Refused, though ``zoneinfo`` would load them: ``localtime`` (whatever the host running the service is set
to, so one agent's hours would change with the machine) and the legacy abbreviations (``EST`` is UTC-5 all
year, not New York's time, which is what whoever writes it almost always means); ``posix/`` and ``right/``
copies; anything ``zoneinfo`` cannot load."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HINT = "use an IANA name such as 'America/New_York', or 'UTC'"


class UnknownTimeZone(ValueError):
    pass


def zone_named(name: str) -> ZoneInfo:
    """The zone, or ``UnknownTimeZone`` with a message a user can act on."""
    if name != "UTC" and ("/" not in name or name.startswith(("posix/", "right/"))):
        raise UnknownTimeZone(f"unknown time zone {name[:64]!r}; {HINT}")
    try:
        return ZoneInfo(name)
    # A malformed key (empty, "..", a directory such as "America") fails with one of these, not just
    # ZoneInfoNotFoundError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZone(f"unknown time zone {name[:64]!r}; {HINT}") from None


_SCAN = timedelta(days=1)


def offset_spans(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime, timedelta]]:
    """``[start, end)`` (aware datetimes) cut where ``zone``'s offset from UTC changes, each piece with its one
    offset, so a database can find times' local days by adding a constant (a year has at most a few pieces).
    Scanned a day at a time, each change then found to the second (changes fall on whole seconds): tzdata has no
    two changes within a day."""
    def offset(at: datetime) -> timedelta:
        found = at.astimezone(zone).utcoffset()
        assert found is not None
        return found

    spans: list[tuple[datetime, datetime, timedelta]] = []
    piece_start, current, at = start, offset(start), start
    while at < end:
        following = min(at + _SCAN, end)
        # The offset at ``at`` is ``current``; the probe is the piece's last moment or the next scan point.
        probe = following if following < end else end - timedelta(microseconds=1)
        if offset(probe) == current:
            at = following
            continue
        # The first whole second with the new offset lies in (at, probe]: halve on whole seconds.
        low, high = int(at.timestamp()), math.ceil(probe.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if offset(datetime.fromtimestamp(middle, UTC)) == current else (low, middle)
        changed = max(datetime.fromtimestamp(high, UTC), at)
        spans.append((piece_start, changed, current))
        piece_start, current, at = changed, offset(changed), changed
    spans.append((piece_start, end, current))
    return spans
