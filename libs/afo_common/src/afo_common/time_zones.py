"""Which time-zone names AFO accepts, the one rule every service applies (a tenant's, an agent's, a calendar's).

Accepted: ``UTC`` and IANA ``Area/Location`` names (``America/New_York``, ``Europe/Paris``, ``Etc/GMT+5``).
Refused, though ``zoneinfo`` would load them: ``localtime`` (whatever the host running the service is set
to, so one agent's hours would change with the machine) and the legacy abbreviations (``EST`` is UTC-5 all
year, not New York's time, which is what whoever writes it almost always means); ``posix/`` and ``right/``
copies; anything ``zoneinfo`` cannot load."""

from __future__ import annotations

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
