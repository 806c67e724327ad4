"""Schema snapshots and the compatibility check behind ``tests/contract``.

Every event payload and every RPC request and response has its JSON Schema (``model_json_schema()``)
committed under ``tests/contract/snapshots/``. ``compare(old, new)`` tells a change that breaks a consumer
(a property removed or renamed, a type or its allowed values changed, a property newly required) from
an additive one (a new optional property), which passes with a note.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afo_common.events import registered_events
from afo_common.rpcs import all_operations

Schema = dict[str, Any]
UPDATE_COMMAND = "uv run python tests/contract/update_snapshots.py"


def current_schemas() -> dict[str, Schema]:
    """``events/<type>`` and ``rpc/<service>.<operation>.{request,response}`` → JSON Schema."""
    schemas = {f"events/{name}": model.model_json_schema() for name, model in registered_events().items()}
    for op in all_operations():
        schemas[f"rpc/{op.service}.{op.name}.request"] = op.request.model_json_schema()
        schemas[f"rpc/{op.service}.{op.name}.response"] = op.response.model_json_schema()
    return dict(sorted(schemas.items()))


def dump(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_snapshots(root: Path) -> dict[str, Schema]:
    return {
        path.relative_to(root).with_suffix("").as_posix(): json.loads(path.read_text())
        for path in sorted(root.rglob("*.json"))
    }


def write_snapshots(root: Path) -> tuple[list[str], list[str]]:
    """Record every current schema and delete snapshots of types that no longer exist: (written, deleted)."""
    current = current_schemas()
    written = []
    for key, schema in current.items():
        path = root / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != dump(schema):
            path.write_text(dump(schema))
            written.append(key)
    deleted = [key for key in read_snapshots(root) if key not in current]
    for key in deleted:
        (root / f"{key}.json").unlink()
    return written, deleted


def verdict(key: str, recorded: dict[str, Schema], current: dict[str, Schema]) -> tuple[str | None, str | None]:
    """(why ``key`` fails the contract or None, a note for a compatible change or None)."""
    if key not in recorded:
        return f"{key} has no snapshot: record it deliberately with `{UPDATE_COMMAND}`", None
    if key not in current:
        return f"{key} was removed, which breaks its consumers; once none is left, `{UPDATE_COMMAND}`", None
    report = compare(recorded[key], current[key])
    if report.breaking:
        return f"{key} changed in a way that breaks consumers:\n  " + "\n  ".join(report.breaking), None
    if report.additive or recorded[key] != current[key]:
        changes = "; ".join(report.additive) or "compatible changes"
        return None, f"{key}: {changes}. Record them with `{UPDATE_COMMAND}`"
    return None, None


@dataclass
class Report:
    breaking: list[str] = field(default_factory=list)
    additive: list[str] = field(default_factory=list)


def compare(old: Schema, new: Schema) -> Report:
    """How ``new`` differs from ``old`` for someone who relies on ``old``."""
    report = Report()
    _compare(_Side(old, old), _Side(new, new), "", report, set())
    return report


@dataclass(frozen=True)
class _Side:
    node: Schema
    root: Schema

    def resolve(self) -> _Side:
        node, seen = self.node, set()
        while "$ref" in node or ("allOf" in node and len(node["allOf"]) == 1):
            if "allOf" in node and "$ref" not in node:
                node = node["allOf"][0]
                continue
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                break
            seen.add(ref)
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
        return _Side(node, self.root)

    def branches(self) -> Iterator[_Side]:
        """The alternatives of a union (``anyOf``/``oneOf``/a list of types), each resolved."""
        side = self.resolve()
        node = side.node
        union = node.get("anyOf") or node.get("oneOf")
        if union:
            for branch in union:
                yield from _Side(branch, self.root).branches()
        elif isinstance(node.get("type"), list):
            for kind in node["type"]:
                yield _Side({**node, "type": kind}, self.root)
        else:
            yield side

    def kind(self) -> str:
        node = self.node
        if "enum" in node or "const" in node:
            return "enum"
        kind = node.get("type", "any")
        return f"{kind}:{node['format']}" if "format" in node else str(kind)

    def allowed(self) -> set[str]:
        values = self.node["enum"] if "enum" in self.node else [self.node["const"]]
        return {json.dumps(v, sort_keys=True) for v in values}


def _compare(old: _Side, new: _Side, path: str, report: Report, seen: set[tuple[int, int]]) -> None:
    if (id(old.resolve().node), id(new.resolve().node)) in seen:
        return  # a recursive definition already under comparison
    seen = {*seen, (id(old.resolve().node), id(new.resolve().node))}
    where = path or "<root>"
    old_branches = _by_kind(old)
    new_branches = _by_kind(new)
    if set(old_branches) != set(new_branches):
        report.breaking.append(f"{where}: type changed from {_kinds(old_branches)} to {_kinds(new_branches)}")
        return
    for kind, olds in old_branches.items():
        if len(olds) != len(new_branches[kind]):
            report.breaking.append(f"{where}: the alternatives of type {kind} changed in number")
            continue
        for before, after in zip(olds, new_branches[kind], strict=True):
            if kind == "enum":
                removed, added = before.allowed() - after.allowed(), after.allowed() - before.allowed()
                if removed or added:
                    report.breaking.append(
                        f"{where}: allowed values changed (removed {sorted(removed)}, added {sorted(added)})"
                    )
            elif kind == "object":
                _compare_object(before, after, path, report, seen)
            elif kind == "array":
                _compare(_items(before), _items(after), f"{path}[]", report, seen)


def _compare_object(old: _Side, new: _Side, path: str, report: Report, seen: set[tuple[int, int]]) -> None:
    old_props: dict[str, Any] = old.node.get("properties", {})
    new_props: dict[str, Any] = new.node.get("properties", {})
    old_required, new_required = set(old.node.get("required", [])), set(new.node.get("required", []))
    prefix = f"{path}." if path else ""
    for name in sorted(old_props.keys() - new_props.keys()):
        report.breaking.append(f"{prefix}{name}: property removed (or renamed)")
    for name in sorted(new_props.keys() - old_props.keys()):
        if name in new_required:
            report.breaking.append(f"{prefix}{name}: new required property")
        else:
            report.additive.append(f"{prefix}{name}: new optional property")
    for name in sorted(old_props.keys() & new_props.keys()):
        if name in new_required and name not in old_required:
            report.breaking.append(f"{prefix}{name}: now required")
        _compare(_Side(old_props[name], old.root), _Side(new_props[name], new.root), f"{prefix}{name}", report,
                 seen)
    old_extra, new_extra = old.node.get("additionalProperties"), new.node.get("additionalProperties")
    if isinstance(old_extra, dict) or isinstance(new_extra, dict):
        _compare(_Side(_schema(old_extra), old.root), _Side(_schema(new_extra), new.root), f"{prefix}{{*}}",
                 report, seen)


def _schema(value: Any) -> Schema:
    return value if isinstance(value, dict) else {}


def _items(side: _Side) -> _Side:
    return _Side(_schema(side.node.get("items")), side.root)


def _by_kind(side: _Side) -> dict[str, list[_Side]]:
    grouped: dict[str, list[_Side]] = {}
    for branch in side.branches():
        grouped.setdefault(branch.kind(), []).append(branch)
    for branches in grouped.values():
        branches.sort(key=lambda b: str(b.node.get("title", "")))
    return grouped


def _kinds(grouped: dict[str, list[_Side]]) -> str:
    return " | ".join(sorted(grouped))
