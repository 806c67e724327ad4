"""NATS subject names. Tenant ids sit in event subjects so an integrator can be granted ``afo.<tenant>.>``."""

from __future__ import annotations

import re

EVENT_PREFIX = "afo"
RPC_PREFIX = "afo.rpc"
REALTIME_PREFIX = "afo.rt"
# Outside "afo.>": a stream on "afo.dlq.>" would overlap the context streams' "afo.*.<context>.>".
DEAD_LETTER_PREFIX = "dlq.afo"
# Published by the server when a consumer gives up on a message: ``<prefix>.<stream>.<consumer>``.
MAX_DELIVERIES_ADVISORY_PREFIX = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class InvalidSubjectToken(ValueError):
    pass


def _token(value: str) -> str:
    if not _TOKEN.match(value):
        raise InvalidSubjectToken(f"not a valid subject token: {value!r}")
    return value


def event_subject(tenant_id: str, event_name: str) -> str:
    """``afo.<tenant_id>.<context>.<event>``, e.g. ``afo.ten_x.lead.qualified``."""
    context, _, event = event_name.partition(".")
    return f"{EVENT_PREFIX}.{_token(tenant_id)}.{_token(context)}.{_token(event)}"


def tenant_events(tenant_id: str) -> str:
    return f"{EVENT_PREFIX}.{_token(tenant_id)}.>"


def events_of_kind(event_name: str) -> str:
    """All tenants' events of one kind: ``afo.*.lead.qualified``."""
    context, _, event = event_name.partition(".")
    return f"{EVENT_PREFIX}.*.{_token(context)}.{_token(event)}"


def rpc_subject(service: str, operation: str) -> str:
    """``afo.rpc.<service>.<operation>``; an operation may itself be dotted (``agents.create``)."""
    parts = [_token(p) for p in operation.split(".")]
    return f"{RPC_PREFIX}.{_token(service)}.{'.'.join(parts)}"


def realtime_subject(tenant_id: str, conversation_id: str, kind: str) -> str:
    """``afo.rt.<tenant_id>.<conversation_id>.<kind>``: core NATS, latency-critical, not durable; ``kind`` "*"
    for every kind (a subscription)."""
    return f"{REALTIME_PREFIX}.{_token(tenant_id)}.{_token(conversation_id)}.{kind if kind == '*' else _token(kind)}"


def dead_letter_subject(service: str, stream: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{_token(service)}.{_token(stream)}"


def max_deliveries_advisory(stream: str, consumer: str) -> str:
    return f"{MAX_DELIVERIES_ADVISORY_PREFIX}.{_token(stream)}.{_token(consumer)}"


def advisory_durable(consumer: str) -> str:
    """The durable consumer on ADVISORIES through which ``consumer``'s MAX_DELIVERIES advisories are read."""
    return f"{_token(consumer)}-max-deliveries"


def tenant_of(subject: str) -> str | None:
    parts = subject.split(".")
    if len(parts) >= 4 and parts[0] == EVENT_PREFIX and parts[1] not in {"rpc", "rt"}:
        return parts[1]
    return None
