import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from afo_common.rpcs.agent_spec import (
    DEFAULT_QUALIFICATION_FIELDS,
    DEFAULT_WIDGET_COLOUR,
    AgentPatch,
    AgentSpec,
    LlmConfig,
    QualificationField,
    WidgetTemplate,
)
from afo_common.rpcs.agent_tests import AgentTestSpec
from afo_common.rpcs.workflow_executor import CalendarSettingsBody


def field(name: str, kind: str = "text") -> dict[str, Any]:
    return {"name": name, "kind": kind}


def test_a_name_is_enough_and_the_defaults_collect_the_five_sales_fields() -> None:
    spec = AgentSpec.model_validate({"name": "Ava"})

    assert [(f.name, f.kind, f.required) for f in spec.qualification_fields] == [
        ("email", "email", True),
        ("company", "company", True),
        ("need", "need", True),
        ("budget", "budget", True),
        ("timeline", "timeline", True),
    ]
    assert spec.role == "sales assistant"
    assert spec.llm == LlmConfig(provider="embedded", model=None, base_url=None, temperature=0.3)
    assert spec.voice.stt == "embedded" and spec.voice.language == "en"
    assert spec.timezone == "UTC"
    assert spec.goals == [] and spec.knowledge_base_ids == [] and spec.channels.model_dump() == {}


def test_default_fields_are_not_shared_between_specs() -> None:
    first, second = AgentSpec(name="A"), AgentSpec(name="B")

    first.qualification_fields.append(QualificationField(name="phone", kind="phone"))

    assert second.qualification_fields == list(DEFAULT_QUALIFICATION_FIELDS)


@pytest.mark.parametrize(
    ("overrides", "location", "message"),
    [
        ({"name": ""}, ("name",), "at least 1 character"),
        ({"name": "   "}, ("name",), "at least 1 character"),
        ({"name": "x" * 81}, ("name",), "at most 80 characters"),
        ({"role": "r" * 121}, ("role",), "at most 120 characters"),
        ({"persona": "p" * 4001}, ("persona",), "at most 4000 characters"),
        ({"greeting": "g" * 501}, ("greeting",), "at most 500 characters"),
        ({"goals": ["sell"] * 21}, ("goals",), "at most 20 items"),
        ({"qualification_fields": [field("Email", "email")]}, ("qualification_fields", 0, "name"), "lowercase"),
        ({"qualification_fields": [field("1st")]}, ("qualification_fields", 0, "name"), "lowercase letter"),
        ({"qualification_fields": [field("a" * 41)]}, ("qualification_fields", 0, "name"), "up to 39"),
        ({"qualification_fields": [field("x", "fax")]}, ("qualification_fields", 0, "kind"), "'email'"),
        (
            {"qualification_fields": [{**field("x"), "question": "q" * 301}]},
            ("qualification_fields", 0, "question"),
            "at most 300 characters",
        ),
        (
            {"qualification_fields": [field("email", "email"), field("work"), field("email", "phone")]},
            ("qualification_fields",),
            "must be unique; repeated: email",
        ),
        ({"qualification_fields": [field(f"f{i}") for i in range(21)]}, ("qualification_fields",), "20 items"),
        ({"llm": {"provider": "openai"}}, ("llm",), "needs model and base_url"),
        ({"llm": {"provider": "openai", "model": "gpt-4o"}}, ("llm",), "needs base_url"),
        ({"llm": {"temperature": 2.5}}, ("llm", "temperature"), "less than or equal to 2"),
        ({"llm": {"temperature": -0.1}}, ("llm", "temperature"), "greater than or equal to 0"),
        ({"llm": {"provider": "anthropic"}}, ("llm", "provider"), "'embedded' or 'openai'"),
        ({"voice": {"language": "english!"}}, ("voice", "language"), "pattern"),
        ({"timezone": "Mars/Olympus_Mons"}, ("timezone",), "unknown time zone 'Mars/Olympus_Mons'"),
        ({"timezone": "America"}, ("timezone",), "unknown time zone"),
        ({"timezone": ""}, ("timezone",), "unknown time zone"),
        ({"timezone": "../etc/passwd"}, ("timezone",), "unknown time zone"),
        ({"colour": "blue"}, ("colour",), "Extra inputs are not permitted"),
        ({"llm": {"provider": "embedded", "key": "sk"}}, ("llm", "key"), "Extra inputs are not permitted"),
    ],
)
def test_invalid_specs_are_rejected_with_a_located_readable_error(
    overrides: dict[str, Any], location: tuple[str | int, ...], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        AgentSpec.model_validate({"name": "Ava", **overrides})

    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [location]
    assert message in errors[0]["msg"]


def test_a_full_spec_validates_and_survives_a_json_round_trip() -> None:
    spec = AgentSpec.model_validate(
        {
            "name": "Ava",
            "role": "booking assistant",
            "persona": "Formal and concise.",
            "greeting": "Good morning, this is Ava.",
            "goals": ["qualify", "book a demo"],
            "qualification_fields": [
                {"name": "full_name", "kind": "name", "label": "full name"},
                {"name": "phone", "kind": "phone", "required": False, "question": "Best number?"},
            ],
            "knowledge_base_ids": ["kb_1"],
            "llm": {"provider": "openai", "model": "gpt-4o-mini", "base_url": "http://llm:8000/v1"},
            "voice": {"tts": "piper", "voice_id": "en_US-amy", "language": "en-US"},
            "channels": {"sms": {"number": "+15550001111"}},
            "timezone": "America/New_York",
        }
    )

    assert AgentSpec.model_validate_json(spec.model_dump_json()) == spec
    assert spec.tz().key == "America/New_York"


def test_a_known_kind_by_itself_is_a_field_of_that_name_and_kind() -> None:
    spec = AgentSpec.model_validate({"name": "Ava", "qualification_fields": ["name", "email", "company"]})

    assert spec.qualification_fields == [
        QualificationField(name="name", kind="name"),
        QualificationField(name="email", kind="email"),
        QualificationField(name="company", kind="company"),
    ]


def test_short_and_long_forms_mix_in_one_list_and_dump_in_the_long_form() -> None:
    spec = AgentSpec.model_validate({"name": "Ava", "qualification_fields": [
        "email", {"name": "team_size", "kind": "text", "required": False}, "phone"]})

    assert [(f.name, f.kind, f.required) for f in spec.qualification_fields] == [
        ("email", "email", True), ("team_size", "text", False), ("phone", "phone", True)]
    assert spec.model_dump(mode="json", exclude_unset=True)["qualification_fields"] == [
        {"name": "email", "kind": "email"}, {"name": "team_size", "kind": "text", "required": False},
        {"name": "phone", "kind": "phone"}]
    assert AgentSpec.model_validate_json(spec.model_dump_json()) == spec


@pytest.mark.parametrize(
    ("fields", "location", "message"),
    [
        (["email", "fax"], ("qualification_fields", 1), "'fax' is not a field kind; name one of email, phone"),
        (["Email"], ("qualification_fields", 0), "'Email' is not a field kind"),
        ([""], ("qualification_fields", 0), "'' is not a field kind"),
        ([42], ("qualification_fields", 0), "valid dictionary"),
        (["email", {"name": "email", "kind": "email"}], ("qualification_fields",), "repeated: email"),
        ("email", ("qualification_fields",), "valid list"),
    ],
)
def test_a_bad_short_form_is_rejected_where_it_stands(fields: Any, location: tuple[str | int, ...],
                                                       message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AgentSpec.model_validate({"name": "Ava", "qualification_fields": fields})

    assert [e["loc"] for e in caught.value.errors()] == [location]
    assert message in caught.value.errors()[0]["msg"]


def test_the_schema_documents_both_forms_of_a_qualification_field() -> None:
    schema = AgentSpec.model_json_schema()

    items = schema["properties"]["qualification_fields"]["items"]
    assert {"$ref": "#/$defs/QualificationField"} in items["anyOf"]
    assert {"enum": ["email", "phone", "company", "need", "budget", "timeline", "name", "text"],
            "type": "string"} in items["anyOf"]
    output = AgentSpec.model_json_schema(mode="serialization")["properties"]["qualification_fields"]["items"]
    assert output == {"$ref": "#/$defs/QualificationField"}


def test_a_patch_takes_the_short_form_too_and_dumps_only_what_it_was_sent() -> None:
    patch = AgentPatch.model_validate({"qualification_fields": ["email"], "greeting": None})

    assert patch.model_dump() == {"greeting": None, "qualification_fields": [
        {"name": "email", "kind": "email", "required": True, "question": None, "label": None}]}
    assert AgentPatch.model_validate_json(patch.model_dump_json()).model_fields_set == {"greeting",
                                                                                       "qualification_fields"}
    assert AgentPatch().model_dump() == {}


@pytest.mark.parametrize(
    "patch",
    [{"name": "x" * 81}, {"goals": ["g"] * 21}, {"unknown": 1}, {"llm": {"provider": "openai"}}],
)
def test_a_malformed_patch_is_rejected_before_it_is_applied(patch: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AgentPatch.model_validate(patch)


def test_a_phone_region_is_optional_and_upper_cased_and_a_patch_may_set_or_clear_it() -> None:
    assert AgentSpec(name="Ava").phone_region is None
    assert AgentSpec(name="Ava", phone_region=" fr ").phone_region == "FR"
    assert AgentPatch.model_validate({"phone_region": "gb"}).phone_region == "GB"
    assert AgentPatch.model_validate({"phone_region": None}).model_dump() == {"phone_region": None}
    with pytest.raises(ValidationError, match="phone_region"):
        AgentPatch.model_validate({"phone_region": "France"})


def test_a_voices_transfer_number_is_e164_and_its_voicemail_message_optional() -> None:
    voice = AgentSpec.model_validate({"name": "Ava", "voice": {
        "transfer_to": "+1 (415) 555-0777", "voicemail_message": "Ava from Acme here, call me back."}}).voice
    assert (voice.transfer_to, voice.voicemail_message) == ("+14155550777", "Ava from Acme here, call me back.")
    plain = AgentSpec.model_validate({"name": "Ava"}).voice
    assert (plain.transfer_to, plain.voicemail_message) == (None, None)
    for bad in ({"transfer_to": "4155550777"}, {"transfer_to": "+1 555"}, {"voicemail_message": ""},
                {"voicemail_message": "x" * 501}):
        with pytest.raises(ValidationError) as refused:
            AgentSpec.model_validate({"name": "Ava", "voice": bad})
        assert refused.value.errors()[0]["loc"][:2] == ("voice", next(iter(bad)))


def test_the_web_channel_is_the_widgets_template_checked_and_other_channels_are_kept_as_given() -> None:
    spec = AgentSpec.model_validate({"name": "Ava", "channels": {
        "web": {"title": "Ask Ava", "colour": "#0A7B83", "position": "bottom-left", "voice_button": True},
        "sms": {"number": "+15550001111"}}})

    assert spec.channels.web == WidgetTemplate(title="Ask Ava", colour="#0a7b83", position="bottom-left",
                                               voice_button=True)
    assert spec.model_dump(mode="json")["channels"] == {
        "web": {"title": "Ask Ava", "greeting": None, "colour": "#0a7b83", "position": "bottom-left",
                "voice_button": True},
        "sms": {"number": "+15550001111"}}
    assert AgentSpec(name="Ava").model_dump()["channels"] == {}  # no template: nothing stored for it
    assert WidgetTemplate().colour == DEFAULT_WIDGET_COLOUR


@pytest.mark.parametrize(("web", "where"), [
    ({"colour": "red"}, "colour"),
    ({"colour": "#12345"}, "colour"),
    ({"colour": "#1234567"}, "colour"),
    ({"position": "top-left"}, "position"),
    ({"greeting": "g" * 501}, "greeting"),
    ({"greeting": "  "}, "greeting"),
    ({"title": "t" * 81}, "title"),
    ({"colour_scheme": "dark"}, "colour_scheme"),
])
def test_a_malformed_widget_template_is_refused_naming_its_field(web: dict[str, Any], where: str) -> None:
    for model in (AgentSpec, AgentPatch):
        with pytest.raises(ValidationError) as refused:
            model.model_validate({"name": "Ava", "channels": {"web": web}})
        assert [e["loc"] for e in refused.value.errors()] == [("channels", "web", where)]


HOURS = {"time_zone": "Europe/Paris", "weekly": {"mon": ["09:00-17:00"]}}


@pytest.mark.parametrize(("model", "body"), [
    (AgentSpec, {"name": "Ava", "idle_timeout_minutes": "30"}),
    (AgentSpec, {"name": "Ava", "idle_timeout_minutes": True}),
    (AgentSpec, {"name": "Ava", "reminder_offsets_minutes": ["60"]}),
    (AgentSpec, {"name": "Ava", "llm": {"temperature": "0.3"}}),
    (AgentSpec, {"name": "Ava", "qualification_fields": [{"name": "email", "kind": "email", "required": 1}]}),
    (AgentSpec, {"name": "Ava", "channels": {"web": {"voice_button": "true"}}}),
    (AgentPatch, {"idle_timeout_minutes": 30.0}),
    (AgentPatch, {"reminder_offsets_minutes": [False]}),
    (AgentTestSpec, {"name": "t", "turns": ["hi"], "expectations": [
        {"type": "reply_contains", "text": "hello", "turn": "1"}]}),
    (CalendarSettingsBody, {**HOURS, "meeting_minutes": "30"}),
    (CalendarSettingsBody, {**HOURS, "horizon_days": True}),
])
def test_a_number_or_a_yes_no_must_be_one_in_the_json(model: type[BaseModel], body: dict[str, Any]) -> None:
    """What the API documents as an integer, a number or a boolean is one: ``"30"``, ``true`` for a number or
    ``1`` for a boolean is refused, as the OpenAPI document says (pydantic would otherwise convert them)."""
    with pytest.raises(ValidationError):
        model.model_validate_json(json.dumps(body))
    with pytest.raises(ValidationError):
        model.model_validate(body)


def test_numbers_and_booleans_given_as_such_are_taken() -> None:
    spec = AgentSpec.model_validate_json(json.dumps({
        "name": "Ava", "idle_timeout_minutes": 45, "reminder_offsets_minutes": [60], "llm": {"temperature": 1},
        "channels": {"web": {"voice_button": True}}}))
    assert (spec.idle_timeout_minutes, spec.reminder_offsets_minutes, spec.llm.temperature) == (45, [60], 1.0)
    assert CalendarSettingsBody.model_validate({**HOURS, "meeting_minutes": 45}).meeting_minutes == 45
