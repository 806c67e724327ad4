"""The committed docs/ (JSON Schema per event and RPC, AsyncAPI) are what `afo schemas export` writes now:
a schema change lands together with its published documentation."""

from __future__ import annotations

from pathlib import Path

from afo_cli.commands.schemas import export_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_schema_docs_match_a_fresh_export(tmp_path: Path) -> None:
    written = export_schemas(tmp_path)
    assert written, "the export wrote nothing"
    stale = []
    for fresh in written:
        committed = DOCS / fresh.relative_to(tmp_path)
        if not committed.exists() or committed.read_text() != fresh.read_text():
            stale.append(str(fresh.relative_to(tmp_path)))
    exported = {p.relative_to(tmp_path) for p in written}
    leftover = [str(p.relative_to(DOCS)) for p in (DOCS / "schemas").rglob("*.json")
                if p.relative_to(DOCS) not in exported]
    assert not stale and not leftover, (
        f"docs/ is out of date (stale: {stale}, no longer exported: {leftover}); "
        "run `make schemas` and commit docs/"
    )
