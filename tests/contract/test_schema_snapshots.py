"""Every event payload and RPC request/response against its committed snapshot: a change that breaks a
consumer fails here; an additive one passes with a warning until the snapshot is rewritten on purpose."""

import warnings
from pathlib import Path

import pytest

from afo_testkit.contracts import current_schemas, dump, read_snapshots, verdict

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
CURRENT = current_schemas()
RECORDED = read_snapshots(SNAPSHOTS)


@pytest.mark.parametrize("key", sorted(CURRENT.keys() | RECORDED.keys()))
def test_the_schema_stays_compatible_with_its_snapshot(key: str) -> None:
    failure, note = verdict(key, RECORDED, CURRENT)
    if failure:
        pytest.fail(failure)
    if note:
        warnings.warn(note, stacklevel=1)


def test_the_contract_covers_every_event_and_operation() -> None:
    assert sum(key.startswith("events/") for key in CURRENT) >= 17
    assert "rpc/agent-runtime.agents.create.request" in CURRENT
    assert "rpc/gateway.health.response" in CURRENT


def test_snapshots_are_written_with_sorted_keys_and_indentation() -> None:
    for path in SNAPSHOTS.rglob("*.json"):
        key = path.relative_to(SNAPSHOTS).with_suffix("").as_posix()
        assert path.read_text() == dump(RECORDED[key]), f"{path} was not written by update_snapshots.py"
