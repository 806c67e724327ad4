import json
import re
from pathlib import Path
from typing import Any

import pytest

from afo_cli.asyncapi import asyncapi_document
from afo_cli.commands.schemas import dump, export_schemas
from afo_common.events import Envelope, registered_events
from afo_common.rpcs import all_operations

COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")  # AsyncAPI 3.0.0: keys of channels, operations, components


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    export_schemas(out)
    return out


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs_in(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_registered_event_has_an_envelope_schema(exported: Path) -> None:
    files = {p.name for p in (exported / "schemas" / "events").glob("*.json")}
    assert files == {f"{name}.json" for name in registered_events()}
    for type_name, model in registered_events().items():
        schema = json.loads((exported / "schemas" / "events" / f"{type_name}.json").read_text())
        properties = schema["properties"]
        assert set(properties) == set(Envelope.model_fields)
        assert properties["type"]["const"] == type_name
        data = resolve(schema, properties["data"]["$ref"])
        assert set(data["properties"]) == set(model.model_fields)
        assert {"id", "source", "type", "time", "data", "tenantid"} <= set(schema["required"])
        for ref in refs_in(schema):
            resolve(schema, ref)


def test_every_rpc_has_a_request_and_a_reply_schema(exported: Path) -> None:
    folder = exported / "schemas" / "rpc"
    for op in all_operations():
        request = json.loads((folder / f"{op.service}.{op.name}.request.json").read_text())
        assert request["x-afo-subject"] == op.subject
        assert set(request.get("properties", {})) == set(op.request.model_fields)
        reply = json.loads((folder / f"{op.service}.{op.name}.response.json").read_text())
        success, failure = reply["oneOf"]
        assert success["properties"]["ok"] == {"const": True}
        result = resolve(reply, success["properties"]["result"]["$ref"])
        assert set(result.get("properties", {})) == set(op.response.model_fields)
        assert resolve(reply, failure["properties"]["error"]["$ref"])["title"] == "ErrorBody"


def test_asyncapi_document_is_well_formed_asyncapi_3() -> None:
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    for section in (doc["channels"], doc["operations"], *doc["components"].values()):
        assert all(COMPONENT_KEY.match(key) for key in section), list(section)
    for ref in refs_in(doc):
        resolve(doc, ref)  # every reference points at something
    for op_id, operation in doc["operations"].items():
        assert operation["action"] in {"send", "receive"}, op_id
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), op_id
        if "reply" in operation:
            reply_channel = operation["reply"]["channel"]["$ref"]
            assert all(m["$ref"].startswith(reply_channel + "/messages/") for m in operation["reply"]["messages"])
    for channel in doc["channels"].values():
        for parameter in re.findall(r"{(\w+)}", channel["address"] or ""):
            assert parameter in channel["parameters"]


def test_asyncapi_has_a_channel_per_event_subject_and_per_rpc() -> None:
    doc = asyncapi_document()
    addresses = {channel["address"] for channel in doc["channels"].values()}
    for type_name, model in registered_events().items():
        assert f"afo.{{tenant_id}}.{type_name.split('.', 1)[1].rsplit('.v', 1)[0]}" in addresses
        message = doc["components"]["messages"][type_name]
        assert message["payload"]["allOf"][1]["properties"]["type"]["const"] == type_name
        assert model.__name__ in doc["components"]["schemas"]
    sends = [op for op in doc["operations"].values() if op["action"] == "send"]
    assert sum(len(op["messages"]) for op in sends) == len(registered_events())
    for op in all_operations():
        assert op.subject in addresses
        rpc = doc["operations"][f"rpc.{op.service}.{op.name}"]
        assert rpc["action"] == "receive"
        assert resolve(doc, rpc["reply"]["channel"]["$ref"])["address"] is None  # the requester's inbox


def test_export_is_deterministic_and_drops_stale_files(tmp_path: Path, exported: Path) -> None:
    stale = tmp_path / "schemas" / "events" / "afo.gone.event.v1.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    written = export_schemas(tmp_path)
    assert not stale.exists()
    for path in written:
        again = exported / path.relative_to(tmp_path)
        assert path.read_bytes() == again.read_bytes(), path
    document = json.loads((tmp_path / "asyncapi.json").read_text())
    assert (tmp_path / "asyncapi.json").read_text() == dump(document)  # sorted keys, stable layout
