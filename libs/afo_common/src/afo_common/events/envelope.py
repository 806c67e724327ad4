"""The CloudEvents 1.0 envelope (JSON structured mode) every AFO event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from afo_common.ids import uuid7
from afo_common.subjects import event_subject


class Event(BaseModel):
    """Base of every event payload (the envelope's ``data``). Subclasses are registered with ``@event``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Named event_* so they never collide with payload fields such as an agent's ``name``.
    event_name: ClassVar[str]
    event_version: ClassVar[int]
    event_stream: ClassVar[str]

    @classmethod
    def type_name(cls) -> str:
        return f"afo.{cls.event_name}.v{cls.event_version}"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str = Field(pattern=r"^afo/[a-z-]+$")
    type: str = Field(pattern=r"^afo\.[a-z_]+\.[a-z_]+\.v[0-9]+$")
    subject: str | None = None
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    tenantid: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    correlationid: str
    causationid: str | None = None
    traceparent: str | None = None

    @property
    def nats_subject(self) -> str:
        context_event = self.type.split(".")
        return event_subject(self.tenantid, f"{context_event[1]}.{context_event[2]}")

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class SchemaError(ValueError):
    """A message that is not a valid AFO event: it is dead-lettered at once, never retried."""


_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def event(name: str, *, stream: str, version: int = 1) -> Any:
    """Register an event payload model under ``afo.<name>.v<version>``."""

    def register(cls: E) -> E:
        cls.event_name = name
        cls.event_version = version
        cls.event_stream = stream
        type_name = cls.type_name()
        if type_name in _REGISTRY:
            raise ValueError(f"event type registered twice: {type_name}")
        _REGISTRY[type_name] = cls
        return cls

    return register


def registered_events() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


def envelope_for(
    payload: Event,
    *,
    tenant_id: str,
    source: str,
    correlation_id: str | None = None,
    causation: Envelope | None = None,
    subject: str | None = None,
    traceparent: str | None = None,
    event_id: str | None = None,
) -> Envelope:
    """Wrap a payload. Correlation follows the causing event, so a whole journey shares one id. ``event_id``
    when the caller derives it (a provider's id made into one), else a new UUIDv7."""
    event_id = event_id or str(uuid7())
    if causation is not None:
        correlation_id = correlation_id or causation.correlationid
    return Envelope(
        id=event_id,
        source=f"afo/{source}",
        type=payload.type_name(),
        subject=subject,
        time=datetime.now(UTC),
        data=payload.model_dump(mode="json"),
        tenantid=tenant_id,
        correlationid=correlation_id or event_id,
        causationid=causation.id if causation is not None else None,
        traceparent=traceparent,
    )


def parse_envelope(raw: bytes) -> tuple[Envelope, Event]:
    """Validate the envelope and its payload against the registered schema, or raise SchemaError."""
    try:
        envelope = Envelope.model_validate_json(raw)
    except ValidationError as exc:
        raise SchemaError(f"invalid envelope: {_summary(exc)}") from exc
    model = _REGISTRY.get(envelope.type)
    if model is None:
        raise SchemaError(f"unknown event type: {envelope.type[:120]}")
    try:
        payload = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise SchemaError(f"invalid {envelope.type} payload: {_summary(exc)}") from exc
    return envelope, payload


# Messages of these come from our own validators and may quote the value they refused.
_FREE_TEXT_ERRORS = {"value_error", "assertion_error"}


def _summary(exc: ValidationError) -> str:
    """Where and how the message is invalid — never the invalid value, which may be a lead's words."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: "
        f"{'invalid value' if err['type'] in _FREE_TEXT_ERRORS else err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)[:5]
    )
