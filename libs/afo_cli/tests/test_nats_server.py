import socket
from pathlib import Path

import nats
import pytest

from afo_cli.nats_server import NatsServer, NatsServerError, find_nats_server
from afo_cli.ports import accepts_connections, free_port, port_is_free
from afo_cli.run_state import pid_alive


def test_the_bundled_binary_is_found() -> None:
    assert find_nats_server().name == "nats-server"


async def test_starts_with_jetstream_and_stops(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats", free_port(), tmp_path / "logs" / "nats.log")
    await server.start()
    pid = server.pid
    try:
        assert server.is_running
        assert await accepts_connections(server.port)
        client = await nats.connect(server.url)
        try:
            account = await client.jetstream().account_info()
            assert account.limits is not None  # answered: JetStream is on
        finally:
            await client.close()
        assert (tmp_path / "nats" / "jetstream").is_dir()
    finally:
        await server.stop()
    assert not pid_alive(pid)
    assert port_is_free(server.port)
    assert server.pid is None


async def test_a_taken_port_is_reported_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = NatsServer(tmp_path / "nats", port, tmp_path / "nats.log")
        with pytest.raises(NatsServerError) as raised:
            await server.start()
    message = str(raised.value)
    assert f"port {port} is in use" in message
    assert "AFO_NATS_PORT" in message and "AFO_NATS_URL" in message
    assert not server.is_running


async def test_an_early_exit_shows_the_log_tail(tmp_path: Path) -> None:
    broken = tmp_path / "nats-server"
    broken.write_text("#!/bin/sh\necho 'nats-server: configuration is broken'\nexit 3\n")
    broken.chmod(0o755)
    server = NatsServer(tmp_path / "nats", free_port(), tmp_path / "nats.log", binary=broken)
    with pytest.raises(NatsServerError) as raised:
        await server.start()
    message = str(raised.value)
    assert "nats-server exited with code 3" in message
    assert "configuration is broken" in message
