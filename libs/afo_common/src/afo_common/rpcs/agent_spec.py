"""An agent's configuration as the public API accepts it: who it is, what it collects, how it talks.

The contract between the gateway, which validates a request with these models and documents them in
OpenAPI, and agent-runtime, which owns agents and validates again before it stores one."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
    model_validator,
)

from afo_common.time_zones import zone_named

FieldKind = Literal["email", "phone", "company", "need", "budget", "timeline", "name", "text"]
FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)

_FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

AgentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


def _check_phone_region(value: str) -> str:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {value!r}; use an ISO 3166-1 alpha-2 code such as 'US' or 'FR'")
    return value


# ISO 3166-1 alpha-2, e.g. "US", "FR"; stored in capitals so one region has one spelling.
PhoneRegion = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True), AfterValidator(_check_phone_region)
]
Role = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Persona = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
VocabularyWord = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Greeting = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Goal = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Goals = Annotated[list[Goal], Field(max_length=20)]
FieldQuestion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
FieldLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
KnowledgeBaseId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class QualificationField(BaseModel):
    """One fact the agent collects from a lead; `name` is the key it is stored under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: FieldKind
    required: bool = Field(default=True, strict=True)
    question: FieldQuestion | None = None
    label: FieldLabel | None = None

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not re.fullmatch(_FIELD_NAME_PATTERN, value):
            raise ValueError(
                "a field name starts with a lowercase letter followed by up to 39 lowercase letters, "
                f"digits or underscores (got {value!r})"
            )
        return value


DEFAULT_QUALIFICATION_FIELDS: tuple[QualificationField, ...] = (
    QualificationField(name="email", kind="email"),
    QualificationField(name="company", kind="company"),
    QualificationField(name="need", kind="need"),
    QualificationField(name="budget", kind="budget"),
    QualificationField(name="timeline", kind="timeline"),
)



def _expand_short_form(value: Any) -> Any:
    """``"email"`` stands for ``{"name": "email", "kind": "email"}``: how a new user first writes it."""
    if not isinstance(value, str):
        return value
    if value not in FIELD_KINDS:
        raise ValueError(
            f"{value!r} is not a field kind; name one of {', '.join(FIELD_KINDS)}, "
            'or give an object such as {"name": "team_size", "kind": "text"}'
        )
    return {"name": value, "kind": value}


# The short form is accepted and documented as input; what is stored and answered is always the long form.
QualificationFieldInput = Annotated[
    QualificationField,
    BeforeValidator(_expand_short_form, json_schema_input_type=QualificationField | FieldKind),
]
QualificationFields = Annotated[list[QualificationFieldInput], Field(max_length=20)]


class LlmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["embedded", "openai"] = "embedded"
    model: str | None = None
    base_url: str | None = None
    temperature: float = Field(default=0.3, ge=0.0, le=2.0, strict=True)

    @model_validator(mode="after")
    def _openai_needs_model_and_url(self) -> LlmConfig:
        if self.provider == "openai":
            missing = [name for name in ("model", "base_url") if not getattr(self, name)]
            if missing:
                raise ValueError(f"provider 'openai' needs {' and '.join(missing)}")
        return self


def _transfer_number(value: str | None) -> str | None:
    """A number written with its country code, as E.164."""
    if value is None:
        return None
    try:
        parsed = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"transfer_to must be a phone number with its country code (+…): {exc}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("transfer_to is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class VoiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stt: str = "embedded"
    tts: str = "embedded"
    voice_id: str | None = None
    language: str = Field(default="en", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    # Words callers say that a general recogniser gets wrong: the company's, its products' and people's names.
    vocabulary: list[VocabularyWord] = Field(default_factory=list, max_length=50)
    # Left on an answering machine when the agent's outbound call meets one (Twilio's answering machine
    # detection); None: a short message naming the agent (agent-runtime's ``conversations.for_call``).
    voicemail_message: str | None = Field(default=None, min_length=1, max_length=500)
    # The person a phone call is handed to when the lead asks for one (``handoff``), in E.164; None: the agent
    # says someone will follow up and carries on.
    transfer_to: Annotated[str | None, AfterValidator(_transfer_number)] = Field(default=None, max_length=32)


WidgetTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
WidgetPosition = Literal["bottom-right", "bottom-left"]
DEFAULT_WIDGET_COLOUR = "#2563eb"


class WidgetTemplate(BaseModel):
    """How the chat widget looks on the tenant's site (``channels.web``): what is left out falls back to the
    agent's name and greeting, and the platform's colour and corner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: WidgetTitle | None = Field(default=None, description="the panel's title; null: the agent's name")
    greeting: Greeting | None = Field(default=None, description="shown when the panel opens; null: the agent's "
                                                                "greeting")
    colour: str = Field(default=DEFAULT_WIDGET_COLOUR, pattern=r"^#[0-9a-fA-F]{6}$",
                        description="the launcher's and the visitor's bubbles' colour, as #rrggbb")
    position: WidgetPosition = "bottom-right"
    voice_button: bool = Field(default=False, strict=True,
                               description="offer a call in the browser (WebRTC) beside the chat")

    @field_validator("colour")
    @classmethod
    def _lower_case(cls, value: str) -> str:
        return value.lower()


class Channels(BaseModel):
    """An agent's settings per channel: ``web`` is the chat widget's template (checked); any other channel's
    settings are kept as given."""

    model_config = ConfigDict(extra="allow", frozen=True)

    web: WidgetTemplate | None = Field(default=None, exclude_if=lambda value: value is None)


def _check_time_zone(value: str) -> str:
    zone_named(value)
    return value


def _check_unique_names(fields: list[QualificationField]) -> list[QualificationField]:
    repeated = sorted(name for name, count in Counter(f.name for f in fields).items() if count > 1)
    if repeated:
        raise ValueError(f"qualification field names must be unique; repeated: {', '.join(repeated)}")
    return fields


DEFAULT_IDLE_TIMEOUT_MINUTES = 30
# One minute to one week.
IdleTimeout = Annotated[int, Field(ge=1, le=7 * 24 * 60, strict=True)]
# Minutes before a meeting's start a reminder goes out: five minutes to two weeks, at most five, none twice.
ReminderOffset = Annotated[int, Field(ge=5, le=14 * 24 * 60, strict=True)]
ReminderOffsets = Annotated[list[ReminderOffset], Field(max_length=5)]


def _check_unique_offsets(value: list[int] | None) -> list[int] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each reminder offset may appear once")
    return value


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: AgentName
    role: Role = "sales assistant"
    persona: Persona = ""
    greeting: Greeting | None = None
    goals: Goals = Field(default_factory=list)
    qualification_fields: QualificationFields = Field(default_factory=lambda: list(DEFAULT_QUALIFICATION_FIELDS))
    knowledge_base_ids: list[KnowledgeBaseId] = Field(default_factory=list)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    channels: Channels = Field(default_factory=Channels)
    timezone: str = "UTC"
    # Where a phone number written without a country code is read; None: from `timezone`
    # (agent-runtime's engine/phone_region.py).
    phone_region: PhoneRegion | None = None
    # A conversation with no message from the lead for this long ends (and is analysed).
    idle_timeout_minutes: IdleTimeout = DEFAULT_IDLE_TIMEOUT_MINUTES
    # When the lead is reminded of a booked meeting (notifier reads them at booking time); None: the platform's
    # default (24 h and 1 h before), [] : no reminders.
    reminder_offsets_minutes: ReminderOffsets | None = None

    _unique_field_names = field_validator("qualification_fields")(_check_unique_names)
    _known_time_zone = field_validator("timezone")(_check_time_zone)
    _unique_offsets = field_validator("reminder_offsets_minutes")(_check_unique_offsets)

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AgentPatch(BaseModel):
    """A partial AgentSpec: only the fields the client sent are applied; an explicit null clears a field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: AgentName | None = None
    role: Role | None = None
    persona: Persona | None = None
    greeting: Greeting | None = None
    goals: Goals | None = None
    qualification_fields: QualificationFields | None = None
    knowledge_base_ids: list[KnowledgeBaseId] | None = None
    llm: LlmConfig | None = None
    voice: VoiceConfig | None = None
    channels: Channels | None = None
    timezone: str | None = None
    phone_region: PhoneRegion | None = None
    idle_timeout_minutes: IdleTimeout | None = None
    reminder_offsets_minutes: ReminderOffsets | None = None

    _unique_offsets = field_validator("reminder_offsets_minutes")(_check_unique_offsets)

    @model_serializer(mode="wrap")
    def _sent_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A field left out is kept and an explicit null clears it; a dump of every field (an RPC request
        # carrying this patch) would turn each field left out into a null that clears it.
        dumped: dict[str, Any] = handler(self)
        return {name: value for name, value in dumped.items() if name in self.model_fields_set}
