"""``afo operator add|list|remove`` against a gateway's operator RPC played by a stand-in on a real nats-server
(the command runs as it does from a shell, in its own event loop): what it prints, the first password shown once,
every page of the list, the gateway's refusals and a missing gateway or NATS as exit 1 with the reason; and where
it finds NATS (AFO_NATS_URL, else the running ``afo up``'s, else the default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from afo_cli.commands.operator import DEFAULT_NATS_URL, nats_url
from afo_cli.main import main
from afo_cli.ports import free_port
from afo_cli.run_state import RunState, write_state
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError
from afo_common.rpcs.gateway_operators import (
    ADD_OPERATOR,
    LIST_OPERATORS,
    REMOVE_OPERATOR,
    AddOperator,
    ListOperators,
    OperatorAdded,
    OperatorView,
    RemoveOperator,
)
from afo_common.rpcs.pages import Page
from afo_testkit.nats import NatsServer, nats_server
from afo_testkit.rpc_stand_ins import answer_rpcs

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Gateway:
    """The gateway's side of the operators' RPC, in memory."""

    def __init__(self) -> None:
        self.operators: dict[str, OperatorView] = {}

    async def add(self, request: AddOperator) -> OperatorAdded:
        if request.email in self.operators:
            raise RpcError("conflict", f"an account with the email {request.email} exists already")
        view = OperatorView(id=f"usr_{len(self.operators)}", email=request.email, created_at=AT)
        self.operators[request.email] = view
        return OperatorAdded(operator=view, password="first-password-123")

    async def list(self, request: ListOperators) -> Page[OperatorView]:
        ordered = sorted(self.operators.values(), key=lambda o: o.id, reverse=True)
        start = 0 if request.cursor is None else next(i for i, o in enumerate(ordered) if o.id == request.cursor) + 1
        page = ordered[start:start + 1]  # one a page: the command must ask for every page
        return Page[OperatorView](data=page, next_cursor=page[-1].id if start + 1 < len(ordered) else None)

    async def remove(self, request: RemoveOperator) -> OperatorView:
        if request.email not in self.operators:
            raise RpcError("not_found", f"no operator has the email {request.email}")
        return self.operators.pop(request.email)


@pytest.fixture
async def nats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[NatsServer]:
    monkeypatch.setenv("AFO_HOME", str(tmp_path / "home"))
    async with nats_server(tmp_path) as server:
        monkeypatch.setenv("AFO_NATS_URL", server.url)
        yield server


@pytest.fixture
async def gateway(nats: NatsServer) -> AsyncIterator[Gateway]:
    stand_in = Gateway()
    connection = NatsConnection(nats.url, "gateway-stand-in")
    await connection.connect()
    await answer_rpcs(connection, {ADD_OPERATOR: stand_in.add, LIST_OPERATORS: stand_in.list,
                                   REMOVE_OPERATOR: stand_in.remove})
    yield stand_in
    await connection.close()


async def afo(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_add_prints_the_first_password_list_shows_everyone_and_remove_says_so(
        gateway: Gateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert await afo("operator", "add", "ops@example.com") == 0
    added = capsys.readouterr().out
    assert await afo("operator", "add", "oncall@example.com") == 0
    capsys.readouterr()
    assert await afo("operator", "list") == 0
    listed = capsys.readouterr().out
    assert await afo("operator", "remove", "ops@example.com") == 0
    removed = capsys.readouterr().out

    assert "operator ops@example.com (usr_0) added" in added and "first-password-123" in added
    assert [line.split()[0] for line in listed.splitlines()] == ["oncall@example.com", "ops@example.com"]
    assert "operator ops@example.com removed" in removed and list(gateway.operators) == ["oncall@example.com"]


async def test_the_gateways_refusals_are_exit_1_with_its_reason(gateway: Gateway,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    await afo("operator", "add", "ops@example.com")
    capsys.readouterr()

    assert await afo("operator", "add", "ops@example.com") == 1
    duplicate = capsys.readouterr()
    assert await afo("operator", "remove", "nobody@example.com") == 1
    unknown = capsys.readouterr()

    assert duplicate.out == "" and "exists already" in duplicate.err
    assert "no operator has the email nobody@example.com" in unknown.err


async def test_without_a_gateway_or_without_nats_it_says_so(nats: NatsServer, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert await afo("operator", "list") == 1
    assert "no gateway is answering" in capsys.readouterr().err

    monkeypatch.setenv("AFO_NATS_URL", f"nats://127.0.0.1:{free_port()}")
    assert await afo("operator", "add", "ops@example.com") == 1
    assert "cannot connect to NATS" in capsys.readouterr().err


def test_nats_is_the_variables_else_the_running_platforms_else_the_default(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_HOME", str(tmp_path))
    monkeypatch.delenv("AFO_NATS_URL", raising=False)
    assert nats_url() == DEFAULT_NATS_URL
    write_state(tmp_path, RunState(supervisor_pid=1, home=str(tmp_path), nats_url="nats://127.0.0.1:4999",
                                   gateway_url="http://127.0.0.1:8000", started_at="now", services={}))
    assert nats_url() == "nats://127.0.0.1:4999"
    monkeypatch.setenv("AFO_NATS_URL", "nats://elsewhere:4222")
    assert nats_url() == "nats://elsewhere:4222"
