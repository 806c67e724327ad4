"""The NATS permission table (afo_common.nats_security.permissions) grants what the services' code uses:
every durable consumer a service declares and every RPC subject it serves. A consumer added without its
grant fails here, before it fails in production with a permissions violation."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from afo_common.nats_security.permissions import SERVICE_ACCESS, Consumes, covers, service_permissions
from afo_common.subjects import rpc_subject
from afo_common.vault import PROVIDERS_OF, VAULT_OWNER, resolve_operation_name


@pytest.mark.parametrize("service", list(SERVICE_ACCESS))
def test_every_consumer_and_rpc_a_service_declares_is_granted(service: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_HOME", str(tmp_path))
    monkeypatch.setenv("AFO_NATS_URL", "nats://127.0.0.1:1")  # built, never started: nothing connects
    monkeypatch.setenv(f"AFO_{service.upper().replace('-', '_')}_DATABASE_URL",
                       f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    built = importlib.import_module(f"afo_{service.replace('-', '_')}.app").build()
    declared = {Consumes(spec.stream, spec.durable) for spec in built._consumers}
    assert declared == set(SERVICE_ACCESS[service].consumes)

    permissions = service_permissions(service)
    subjects = [str(subscriber.subject.broker_address) for subscriber in built._subscribers]
    served = [subject for subject in subjects if subject.startswith("afo.rpc.")]
    assert served, "every service answers at least its health RPC"
    for subject in served:
        assert any(covers(p, subject) for p in permissions.subscribe_allow), f"{service} serves {subject} ungranted"


def test_no_service_may_publish_to_an_rpc_it_does_not_call_nor_read_another_inbox() -> None:
    for service, access in SERVICE_ACCESS.items():
        permissions = service_permissions(service)
        rpc = [p for p in permissions.publish_allow if p.startswith("afo.rpc.")]
        # Besides the services it calls, only its own credential-vault subject (the gateway knows who asks).
        vault = [rpc_subject(VAULT_OWNER, resolve_operation_name(service))] if service in PROVIDERS_OF else []
        assert {p.split(".")[2] for p in rpc if p not in vault} == set(access.calls)
        assert [p for p in rpc if ".credentials.resolve." in p] == vault
        inboxes = [p for p in permissions.subscribe_allow if p.startswith("_INBOX")]
        assert inboxes == [f"_INBOX_{service}.>"]
        # It replies on the inboxes of the services that call it (and of those that resolve credentials from the
        # gateway), on no other.
        callers = {other for other, theirs in SERVICE_ACCESS.items() if service in theirs.calls}
        callers |= set(PROVIDERS_OF) if service == VAULT_OWNER else set()
        replies = {p for p in permissions.publish_allow if p.startswith("_INBOX")}
        assert replies == {f"_INBOX_{caller}.>" for caller in callers}, service
        assert ">" not in permissions.publish_allow and ">" not in permissions.subscribe_allow
