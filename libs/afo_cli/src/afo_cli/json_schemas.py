"""JSON Schemas of what travels on NATS, as it travels: an event is the whole CloudEvents envelope with
its ``type`` fixed and its ``data`` the event's schema; an RPC reply is the ``{ok, result | error}``
wrapper around the operation's response. Integrators validate real messages against these."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from afo_common.events import Envelope, Event, registered_events
from afo_common.messaging.rpc import ErrorBody, RpcOperation
from afo_common.rpcs import all_operations

DIALECT = "https://json-schema.org/draft/2020-12/schema"
LOCAL_DEFS = "#/$defs/{model}"
Schema = dict[str, Any]


def schemas_of(models: Iterable[type[BaseModel]], ref_template: str) -> tuple[dict[type[BaseModel], Schema], Schema]:
    """A ``$ref`` for each model and one shared set of definitions; pydantic names the definitions and
    keeps two models with the same class name apart."""
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema([(m, "validation") for m in unique], ref_template=ref_template)
    return {model: refs[(model, "validation")] for model in unique}, top.get("$defs", {})


def description_of(model: type[BaseModel]) -> str | None:
    return inspect.cleandoc(model.__doc__) if model.__doc__ else None


def event_channel(model: type[Event]) -> str:
    """The subject pattern of an event kind, with the tenant as a parameter (AsyncAPI address syntax)."""
    return f"afo.{{tenant_id}}.{model.event_name}"


def event_overrides(type_name: str, data_ref: Schema) -> Schema:
    """What an event type fixes in the envelope: its ``type`` and the shape of its ``data``."""
    return {
        "type": {"const": type_name, "title": "Type", "type": "string"},
        "data": data_ref,
    }


def reply_schema(result_ref: Schema, error_ref: Schema) -> Schema:
    # Reply is dumped without exclude_none, so the unused member is present as null.
    return {
        "oneOf": [
            {
                "type": "object",
                "title": "Success",
                "properties": {"ok": {"const": True}, "result": result_ref, "error": {"type": "null"}},
                "required": ["ok", "result"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "title": "Failure",
                "properties": {"ok": {"const": False}, "error": error_ref, "result": {"type": "null"}},
                "required": ["ok", "error"],
                "additionalProperties": False,
            },
        ]
    }


def event_schema(type_name: str, model: type[Event]) -> Schema:
    refs, defs = schemas_of([model], LOCAL_DEFS)
    schema = Envelope.model_json_schema()
    schema["properties"].update(event_overrides(type_name, refs[model]))
    schema.update(
        {
            "$schema": DIALECT,
            "$defs": defs,
            "title": type_name,
            "x-afo-subject": event_channel(model),
            "x-afo-stream": model.event_stream,
        }
    )
    if description := description_of(model):
        schema["description"] = description
    return schema


def rpc_request_schema(op: RpcOperation[Any, Any]) -> Schema:
    schema: Schema = op.request.model_json_schema()
    schema.update({"$schema": DIALECT, "title": f"{op.service}.{op.name} request", "x-afo-subject": op.subject})
    return schema


def rpc_response_schema(op: RpcOperation[Any, Any]) -> Schema:
    refs, defs = schemas_of([op.response, ErrorBody], LOCAL_DEFS)
    return {
        "$schema": DIALECT,
        "$defs": defs,
        "title": f"{op.service}.{op.name} reply",
        "description": f"The reply to {op.subject}, sent to the requester's inbox.",
        **reply_schema(refs[op.response], refs[ErrorBody]),
    }


def event_schema_files() -> dict[str, Schema]:
    """``<type>.json`` → schema, for every registered event type."""
    return {f"{name}.json": event_schema(name, model) for name, model in sorted(registered_events().items())}


def rpc_schema_files() -> dict[str, Schema]:
    """``<service>.<operation>.request.json`` / ``.response.json`` → schema, for every RPC."""
    files: dict[str, Schema] = {}
    for op in all_operations():
        files[f"{op.service}.{op.name}.request.json"] = rpc_request_schema(op)
        files[f"{op.service}.{op.name}.response.json"] = rpc_response_schema(op)
    return dict(sorted(files.items()))
