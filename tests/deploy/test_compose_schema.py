"""compose.yaml without a compose binary: interpolated the way compose does it, it validates against the Compose
Specification's JSON schema (vendored in compose_spec/, see SOURCE.md there), each required variable stops it with
its own message when missing, and every service's settings class accepts the environment compose gives it."""

from __future__ import annotations

import base64
import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from afo_common.settings import ServiceSettings
from tests.deploy.compose_interpolation import MissingVariable, interpolate, interpolate_text, required_variables
from tests.deploy.test_manifests import SETTINGS_CLASSES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
SCHEMA = Path(__file__).parent / "compose_spec" / "compose-spec.json"


def load_compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_environment() -> dict[str, str]:
    """What a filled-in .env holds: every required variable, with values of the right shape."""
    env = {name: f"test-{name.lower()}" for name in required_variables(COMPOSE.read_text())}
    env["AFO_VAULT_KEY"] = base64.b64encode(bytes(range(32))).decode()
    return env


test_environment.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def test_interpolation_follows_compose() -> None:
    env = {"SET": "value", "EMPTY": ""}
    assert interpolate_text("a$$b ${SET} $SET", env) == "a$b value value"
    assert interpolate_text("${UNSET:-fallback}|${EMPTY:-fallback}|${EMPTY-fallback}|${UNSET-x}", env) == (
        "fallback|fallback||x")
    assert interpolate_text("${UNSET:-${SET}/more}", env) == "value/more"
    assert interpolate_text("${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}", env) == "alt||alt"
    assert interpolate_text("${SET:?never}", env) == "value"
    with pytest.raises(MissingVariable, match="EMPTY is missing a value: give it"):
        interpolate_text("${EMPTY:?give it}", env)
    assert interpolate_text("${EMPTY?only when unset}", env) == ""
    with pytest.raises(MissingVariable, match="UNSET"):
        interpolate({"k": ["x", {"y": "${UNSET?no}"}]}, env)
    assert interpolate({"${SET}": "${SET}", "n": None, "i": 1}, env) == {"${SET}": "value", "n": None, "i": 1}
    assert required_variables("${A:?x} ${B?y} ${C:-z} $${D:?w}") == {"A", "B"}


def test_compose_validates_against_the_compose_spec() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    rendered = interpolate(load_compose(), test_environment())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(rendered)]
    assert errors == []
    # ...and the schema does catch what compose would refuse.
    for service, key, value in (("gateway", "depends_on", {"nats": {"condition": "service_up"}}),
                                ("notifier", "stop_grace_period", ["30s"]),
                                ("voice-media", "ports", "8081:8080"),
                                ("knowledge-ingest", "healthcheck", {"test": ["CMD", "true"], "every": "5s"})):
        broken = json.loads(json.dumps(rendered))
        broken["services"][service][key] = value
        assert not validator.is_valid(broken), (service, key, value)


def test_every_required_variable_stops_compose_with_its_own_message() -> None:
    text = COMPOSE.read_text()
    required = required_variables(text)
    assert {"AFO_VAULT_KEY", "AFO_NATS_ADMIN_NKEY_SEED"} | {
        f"AFO_{s.upper().replace('-', '_')}_DB_PASSWORD" for s in SETTINGS_CLASSES} <= required
    compose = load_compose()
    for name in sorted(required):
        env = {k: v for k, v in test_environment().items() if k != name}
        with pytest.raises(MissingVariable, match=name) as missing:
            interpolate(compose, env)
        if name == "AFO_VAULT_KEY":
            assert "openssl rand -base64 32" in str(missing.value)


@pytest.mark.parametrize("service", SETTINGS_CLASSES)
def test_each_service_accepts_the_environment_compose_gives_it(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A passthrough left unset must stay absent (an empty AFO_SMTP_RELAY_PORT would stop notifier), and every value
    compose sets must parse: the settings class is the one the service starts with."""
    for name in list(os.environ):
        if name.startswith(("AFO_", "OTEL_")):
            monkeypatch.delenv(name)
    environment = interpolate(load_compose()["services"][service]["environment"], test_environment())
    for name, value in environment.items():
        if value is not None:  # no value: compose passes the variable through only when the shell or .env sets it
            monkeypatch.setenv(name, str(value))
    module, _, cls_name = SETTINGS_CLASSES[service].partition(":")
    settings_class: type[ServiceSettings] = getattr(importlib.import_module(module), cls_name)
    settings: Any = settings_class.for_service(service)  # the service's own class, with its own fields
    assert settings.http_host == "0.0.0.0" and settings.http_port == (8000 if service == "gateway" else 8080)
    role = "afo_" + service.replace("-", "_")
    assert settings.database_url.startswith(f"postgresql+asyncpg://{role}:test-") and settings.database_url.endswith(
        f"@postgres:5432/{role}")
    assert settings.nats_nkey_seed is not None
    if service == "notifier":
        assert settings.smtp_relay_port is None, "no relay unless .env names one"
    if service == "knowledge-ingest":
        assert settings.qdrant_url == "http://qdrant:6333"
    if service == "voice-media":
        assert settings.voice_media_public_url.startswith(("ws://", "wss://"))
