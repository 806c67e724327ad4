"""The one time-zone rule: UTC and IANA Area/Location names; not the host's ``localtime``, not legacy
abbreviations, not posix/right copies, not what zoneinfo cannot load."""

import pytest

from afo_common.time_zones import UnknownTimeZone, zone_named


@pytest.mark.parametrize("name", ["UTC", "America/New_York", "Europe/Paris", "Etc/GMT+5", "US/Eastern"])
def test_iana_names_and_utc_are_zones(name: str) -> None:
    assert zone_named(name).key == name


@pytest.mark.parametrize("name", ["localtime", "EST", "MST", "EST5EDT", "GMT", "posix/Europe/Paris",
                                  "right/UTC", "Mars/Olympus", "America", "", "../etc/passwd", "Europe/" + "x" * 300])
def test_host_dependent_legacy_and_unknown_names_are_refused_with_a_hint(name: str) -> None:
    with pytest.raises(UnknownTimeZone, match="America/New_York"):
        zone_named(name)
