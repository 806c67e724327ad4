import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from afo_common.events import Envelope, SchemaError, envelope_for, event, parse_envelope, registered_events
from afo_common.events.agent import AgentCreated, AgentPublished
from afo_common.events.conversation import MessageReceived
from afo_common.events.streams import AGENT


def created(agent_id: str = "agt_1") -> AgentCreated:
    return AgentCreated(agent_id=agent_id, name="Ava")


def raw(**overrides: Any) -> bytes:
    body: dict[str, Any] = json.loads(envelope_for(created(), tenant_id="ten_a", source="agent-runtime").to_bytes())
    body.update(overrides)
    return json.dumps(body).encode()


def test_an_envelope_survives_the_wire_with_its_payload() -> None:
    sent = envelope_for(
        MessageReceived(conversation_id="conv_1", message_id="msg_1", channel="sms", text="hi",
                        sent_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        tenant_id="ten_a", source="gateway", subject="conv_1", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )

    envelope, payload = parse_envelope(sent.to_bytes())

    assert envelope == sent
    assert isinstance(payload, MessageReceived)
    assert payload.sent_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert envelope.type == "afo.conversation.message_received.v1"
    assert envelope.source == "afo/gateway"
    assert envelope.nats_subject == "afo.ten_a.conversation.message_received"


def test_the_wire_form_is_cloudevents_structured_json_without_nulls() -> None:
    body = json.loads(envelope_for(created(), tenant_id="ten_a", source="agent-runtime").to_bytes())

    assert body["specversion"] == "1.0"
    assert body["datacontenttype"] == "application/json"
    assert body["data"] == {"agent_id": "agt_1", "name": "Ava"}
    assert "causationid" not in body and "traceparent" not in body and "subject" not in body
    assert abs(datetime.fromisoformat(body["time"]) - datetime.now(UTC)) < timedelta(seconds=5)


def test_event_ids_are_uuid7_and_unique() -> None:
    ids = [envelope_for(created(), tenant_id="ten_a", source="agent-runtime").id for _ in range(50)]

    assert len(set(ids)) == 50
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert all(uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


def test_correlation_follows_the_first_event_and_causation_points_at_the_parent() -> None:
    first = envelope_for(created(), tenant_id="ten_a", source="agent-runtime")
    second = envelope_for(AgentPublished(agent_id="agt_1", version=1), tenant_id="ten_a", source="agent-runtime",
                          causation=first)
    third = envelope_for(created("agt_2"), tenant_id="ten_a", source="agent-runtime", causation=second)

    assert first.correlationid == first.id and first.causationid is None
    assert second.correlationid == first.id and second.causationid == first.id
    assert third.correlationid == first.id and third.causationid == second.id


def test_an_explicit_correlation_id_is_kept() -> None:
    started = envelope_for(created(), tenant_id="ten_a", source="gateway", correlation_id="req_123")
    follow = envelope_for(created(), tenant_id="ten_a", source="gateway", causation=started)

    assert started.correlationid == "req_123"
    assert follow.correlationid == "req_123"


def test_a_tenant_id_that_is_not_one_subject_token_cannot_be_enveloped() -> None:
    for tenant in ("ten.a", "ten>", "ten*", "", "ten a"):
        with pytest.raises(ValidationError):
            envelope_for(created(), tenant_id=tenant, source="gateway")


def test_bad_json_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="invalid envelope"):
        parse_envelope(b"{not json")


def test_an_unknown_event_type_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"unknown event type: afo\.agent\.exploded\.v1"):
        parse_envelope(raw(type="afo.agent.exploded.v1"))


def test_a_known_type_in_an_unknown_version_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="unknown event type"):
        parse_envelope(raw(type="afo.agent.created.v9"))


@pytest.mark.parametrize(
    "data",
    [{"agent_id": "agt_1"}, {"agent_id": "agt_1", "name": "Ava", "extra": 1}, {"agent_id": 5, "name": "Ava"}],
    ids=["missing field", "unknown field", "wrong type"],
)
def test_a_payload_that_does_not_match_its_schema_is_a_schema_error(data: dict[str, Any]) -> None:
    with pytest.raises(SchemaError, match=r"invalid afo\.agent\.created\.v1 payload"):
        parse_envelope(raw(data=data))


@pytest.mark.parametrize("tenant", ["ten.a", "ten>", "*", ""])
def test_a_tenant_id_outside_the_token_pattern_is_a_schema_error(tenant: str) -> None:
    with pytest.raises(SchemaError, match="tenantid"):
        parse_envelope(raw(tenantid=tenant))


@pytest.mark.parametrize(
    "overrides",
    [{"specversion": "0.3"}, {"source": "gateway"}, {"type": "agent.created"}, {"surprise": True}, {"id": None}],
    ids=["specversion", "source", "type", "extra attribute", "no id"],
)
def test_an_envelope_breaking_cloudevents_rules_is_a_schema_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(SchemaError):
        parse_envelope(raw(**overrides))


def test_every_registered_type_is_named_after_its_model() -> None:
    events = registered_events()

    assert events["afo.agent.created.v1"] is AgentCreated
    assert all(model.type_name() == name for name, model in events.items())
    assert all(model.event_stream for model in events.values())


def test_registering_a_type_twice_is_refused() -> None:
    class AnotherAgentCreated(AgentCreated):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        event("agent.created", stream=AGENT)(AnotherAgentCreated)
    assert registered_events()["afo.agent.created.v1"] is AgentCreated


def test_an_envelope_is_immutable() -> None:
    envelope = envelope_for(created(), tenant_id="ten_a", source="gateway")
    with pytest.raises(ValidationError):
        envelope.tenantid = "ten_b"  # type: ignore[misc]
    assert isinstance(envelope, Envelope)
