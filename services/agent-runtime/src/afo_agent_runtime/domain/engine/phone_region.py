"""The region a phone number written without a country code is read in, for one agent."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from afo_agent_runtime.domain.agent import AgentSpec

DEFAULT_PHONE_REGION = "US"


@cache
def _country_of_zone() -> dict[str, str]:
    """IANA zone -> ISO 3166-1 country, from tzdata's zone.tab (one country per zone, so never a guess).

    zone1970.tab is not used: it merges countries that share clocks (Europe/Berlin covers Germany and
    Scandinavia), which is what "unambiguous" rules out.
    """
    table = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    countries: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            country, _, zone, *_ = line.split("\t")
            countries[zone] = country
    return countries


def phone_region_for(agent: AgentSpec) -> str:
    """The agent's `phone_region`, else the country of its time zone when the zone names one, else US."""
    if agent.phone_region:
        return agent.phone_region
    return _country_of_zone().get(agent.timezone, DEFAULT_PHONE_REGION)
