"""``afo schemas export``: JSON Schemas and the AsyncAPI document, written to be committed and diffed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from afo_cli.asyncapi import asyncapi_document
from afo_cli.json_schemas import event_schema_files, rpc_schema_files


def dump(document: Any) -> str:
    # Sorted keys and a final newline: the same models always give the same bytes.
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schemas(out: Path) -> list[Path]:
    written: list[Path] = []
    folders = {out / "schemas" / "events": event_schema_files(), out / "schemas" / "rpc": rpc_schema_files()}
    for folder, files in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.json"):
            if stale.name not in files:  # a removed event or RPC disappears from the diff too
                stale.unlink()
        for name, schema in files.items():
            written.append(_write(folder / name, schema))
    written.append(_write(out / "asyncapi.json", asyncapi_document()))
    return written


def _write(path: Path, document: Any) -> Path:
    path.write_text(dump(document), encoding="utf-8")
    return path


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    written = export_schemas(out)
    events = sum(1 for p in written if p.parent.name == "events")
    rpcs = sum(1 for p in written if p.parent.name == "rpc")
    print(f"wrote {events} event schemas, {rpcs} RPC schemas and {out / 'asyncapi.json'}")
    return 0
