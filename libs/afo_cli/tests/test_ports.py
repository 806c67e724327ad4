import random
import socket

import pytest

from afo_cli.ports import PORT_RANGE_VARIABLE, free_port, port_is_free, port_range_from_env
from afo_testkit.xdist_ports import END_PORT, FIRST_PORT, worker_port_range


def test_without_a_range_the_kernel_picks_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PORT_RANGE_VARIABLE, raising=False)
    assert port_is_free(free_port())


def test_with_a_range_ports_come_from_it_free_and_not_handed_out_twice_in_a_row(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        monkeypatch.setenv(PORT_RANGE_VARIABLE, f"{taken}-{taken + 200}")
        monkeypatch.setattr(random, "randrange", lambda n: 0)  # every search starts at the taken port
        picked = [free_port() for _ in range(64)]
    assert all(taken < port < taken + 200 for port in picked)
    assert len(set(picked)) == len(picked), "a port was handed out again before the ones picked before it"


@pytest.mark.parametrize("text", ["20000", "20000-20010", "b-c", "30000-20000", "0-1000", "65000-70000"])
def test_a_range_that_is_not_low_high_with_enough_ports_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=PORT_RANGE_VARIABLE):
        port_range_from_env({PORT_RANGE_VARIABLE: text})


def test_an_empty_range_variable_means_none() -> None:
    assert port_range_from_env({PORT_RANGE_VARIABLE: " "}) is None
    assert port_range_from_env({}) is None


@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_xdist_workers_get_disjoint_ranges_below_the_ephemeral_ports(count: int) -> None:
    ranges = [port_range_from_env({PORT_RANGE_VARIABLE: worker_port_range(f"gw{i}", count)}) for i in range(count)]
    ports = [port for r in ranges if r is not None for port in r]
    assert len(ports) == len(set(ports)) > (END_PORT - FIRST_PORT) - count
    assert min(ports) >= FIRST_PORT and max(ports) < END_PORT
