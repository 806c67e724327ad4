"""A tenant's live feed as its listeners get it: each item one JSON text, built once per event and sent as it
is to every listener of the tenant.

    {"type": "conversation.message_replied", "id": "<event id>", "time": "<when it happened>",
     "subject": "afo.<tenant>.conversation.message_replied", "data": {...}}

``type`` is the event's ``<context>.<event>``; ``id`` and ``time`` are the CloudEvent's; ``subject`` is the NATS
subject it travelled on (what an integrator subscribes to); ``data`` keeps only the fields
``afo_common.events.live`` lists for the event. Besides events a listener gets ``ready`` first,
``keep_alive`` when idle, ``pong`` when it sent ``ping`` and, if it may see the platform, ``health``.

Plain Python: the event is read from its subject and bytes alone. The envelope is not validated against its
schema (its producer did that, and a listener needs five of its fields); what is not a live event of the
tenant its subject names is refused with ``MalformedEvent``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from afo_common.events.live import LIVE_FIELDS


@dataclass(frozen=True)
class Frame:
    type: str
    text: str  # the JSON text that goes out


@dataclass(frozen=True)
class LiveSubject:
    tenant_id: str
    name: str  # "<context>.<event>"


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    ready: bool
    version: str | None = None
    error: str | None = None  # why it did not answer


class MalformedEvent(ValueError):
    """A message on a live subject that is not that tenant's event of that kind."""


def _frame(item: dict[str, Any]) -> Frame:
    return Frame(item["type"], json.dumps(item, separators=(",", ":"), ensure_ascii=False))


KEEP_ALIVE = _frame({"type": "keep_alive"})
PONG = _frame({"type": "pong"})


def ready_frame(tenant_id: str) -> Frame:
    return _frame({"type": "ready", "tenant_id": tenant_id})


def live_subject(subject: str) -> LiveSubject | None:
    """``afo.<tenant>.<context>.<event>`` of a live event, else None."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != "afo":
        return None
    name = f"{parts[2]}.{parts[3]}"
    return LiveSubject(parts[1], name) if name in LIVE_FIELDS else None


def feed_frame(subject: str, live: LiveSubject, raw: bytes) -> Frame:
    try:
        envelope = json.loads(raw)
    except ValueError as exc:
        raise MalformedEvent("not JSON") from exc
    if not isinstance(envelope, dict):
        raise MalformedEvent("not a JSON object")
    data, event_id, at, kind = envelope.get("data"), envelope.get("id"), envelope.get("time"), envelope.get("type")
    if not (isinstance(data, dict) and isinstance(event_id, str) and isinstance(at, str) and isinstance(kind, str)):
        raise MalformedEvent("not a CloudEvent")
    if envelope.get("tenantid") != live.tenant_id:
        raise MalformedEvent("the envelope's tenant is not its subject's")
    if not kind.startswith(f"afo.{live.name}.v"):
        raise MalformedEvent(f"a {kind[:80]!r} event on a {live.name} subject")
    kept = {name: data[name] for name in LIVE_FIELDS[live.name] if name in data}
    return _frame({"type": live.name, "id": event_id, "time": at, "subject": subject, "data": kept})


def health_frame(services: list[ServiceHealth], at: datetime) -> Frame:
    return _frame({"type": "health", "time": at.isoformat(), "ready": all(s.ready for s in services),
                   "services": [{k: v for k, v in vars(s).items() if v is not None} for s in services]})
