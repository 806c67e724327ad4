import json
from pathlib import Path

import pytest

from afo_cli.errors import PlatformError
from afo_cli.main import build_parser, main
from afo_cli.platform_config import PlatformConfig
from afo_common.messaging.connection import server_urls


def test_every_command_parses() -> None:
    parser = build_parser()
    for argv in (["up"], ["up", "--cluster"], ["status"], ["down"], ["demo"], ["schemas", "export"],
                 ["streams", "ensure"],
                 ["vault", "rotate"], ["vault", "retire"], ["operator", "add", "ops@example.com"],
                 ["operator", "list"], ["operator", "remove", "ops@example.com"]):
        assert callable(parser.parse_args(argv).command)
    assert parser.parse_args(["schemas", "export"]).out == "docs"


def test_status_without_a_running_platform_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFO_HOME", str(tmp_path))
    assert main(["status"]) == 1
    assert "not running" in capsys.readouterr().out


def test_down_without_a_running_platform_is_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_HOME", str(tmp_path))
    assert main(["down"]) == 0


def test_schemas_export_writes_the_documents(tmp_path: Path) -> None:
    assert main(["schemas", "export", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "asyncapi.json").read_text())["asyncapi"] == "3.0.0"
    assert any((tmp_path / "schemas" / "events").glob("afo.*.v1.json"))


def test_configuration_from_the_documented_variables(tmp_path: Path) -> None:
    config = PlatformConfig.from_env({"AFO_HOME": str(tmp_path), "AFO_HTTP_PORT": "9000", "AFO_NATS_PORT": "4333"})
    assert (config.home, config.gateway_port, config.nats_port, config.nats_url) == (tmp_path, 9000, 4333, None)
    assert PlatformConfig.from_env({"AFO_NATS_URL": "nats://n:4222"}).nats_url == "nats://n:4222"
    assert PlatformConfig.from_env({}).home == Path("var").resolve()


def test_a_cluster_is_three_nodes_whose_streams_are_replicated_on_each(tmp_path: Path) -> None:
    assert build_parser().parse_args(["up", "--cluster"]).cluster is True
    single = PlatformConfig.from_env({"AFO_HOME": str(tmp_path)})
    cluster = PlatformConfig.from_env({"AFO_HOME": str(tmp_path), "AFO_NATS_NODES": "3"})
    assert (single.nats_nodes, single.stream_replicas) == (1, 1)
    assert (cluster.nats_nodes, cluster.stream_replicas) == (3, 3)
    with pytest.raises(PlatformError, match="AFO_NATS_NODES is 1 or 3"):
        PlatformConfig.from_env({"AFO_HOME": str(tmp_path), "AFO_NATS_NODES": "2"})


def test_a_nats_url_names_one_server_or_a_clusters_several() -> None:
    assert server_urls("nats://a:4222") == ["nats://a:4222"]
    assert server_urls("nats://a:4222, nats://b:4222,nats://c:4222,") == ["nats://a:4222", "nats://b:4222",
                                                                         "nats://c:4222"]
