"""The checker itself, fed real schemas with deliberate changes: it must catch what breaks consumers."""

import copy
from pathlib import Path
from typing import Any

import pytest

from afo_testkit.contracts import UPDATE_COMMAND, compare, current_schemas, read_snapshots, verdict, write_snapshots

Schema = dict[str, Any]


@pytest.fixture
def started() -> Schema:
    """conversation.started: a Literal enum, a nested model through $defs, several required fields."""
    return current_schemas()["events/afo.conversation.started.v1"]


@pytest.fixture
def replied() -> Schema:
    """message_replied: an optional list of nested objects and a date-free float field."""
    return current_schemas()["events/afo.conversation.message_replied.v1"]


def changed(schema: Schema) -> Schema:
    return copy.deepcopy(schema)


def test_an_unchanged_schema_reports_nothing(started: Schema) -> None:
    report = compare(started, changed(started))
    assert (report.breaking, report.additive) == ([], [])


def test_a_removed_property_breaks(started: Schema) -> None:
    new = changed(started)
    del new["properties"]["agent_version"]
    new["required"].remove("agent_version")

    assert compare(started, new).breaking == ["agent_version: property removed (or renamed)"]


def test_a_renamed_property_breaks(started: Schema) -> None:
    new = changed(started)
    new["properties"]["agent"] = new["properties"].pop("agent_id")
    new["required"] = [("agent" if r == "agent_id" else r) for r in new["required"]]

    assert compare(started, new).breaking == ["agent_id: property removed (or renamed)",
                                              "agent: new required property"]


def test_a_changed_type_breaks(started: Schema) -> None:
    new = changed(started)
    new["properties"]["agent_version"] = {"title": "Agent Version", "type": "string"}

    assert compare(started, new).breaking == ["agent_version: type changed from integer to string"]


def test_a_field_becoming_nullable_breaks(started: Schema) -> None:
    new = changed(started)
    new["properties"]["agent_id"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}

    assert compare(started, new).breaking == ["agent_id: type changed from string to null | string"]


def test_a_change_inside_a_referenced_definition_breaks(started: Schema) -> None:
    new = changed(started)
    new["$defs"]["Contact"]["properties"]["phone"] = {"type": "integer"}

    assert compare(started, new).breaking == ["contact.phone: type changed from null | string to integer"]


def test_a_removed_or_added_allowed_value_breaks(started: Schema) -> None:
    fewer, more = changed(started), changed(started)
    fewer["properties"]["channel"]["enum"].remove("sms")
    more["properties"]["channel"]["enum"].append("whatsapp")

    assert compare(started, fewer).breaking == ["channel: allowed values changed (removed ['\"sms\"'], added [])"]
    assert compare(started, more).breaking == ["channel: allowed values changed (removed [], added ['\"whatsapp\"'])"]


def test_a_new_required_property_breaks(started: Schema) -> None:
    new = changed(started)
    new["properties"]["region"] = {"type": "string"}
    new["required"].append("region")

    assert compare(started, new).breaking == ["region: new required property"]


def test_an_optional_property_becoming_required_breaks(replied: Schema) -> None:
    new = changed(replied)
    new["required"].append("citations")

    assert compare(replied, new).breaking == ["citations: now required"]


def test_a_change_inside_list_items_breaks(replied: Schema) -> None:
    new = changed(replied)
    new["$defs"]["Citation"]["properties"]["page"] = {"type": "string"}

    assert compare(replied, new).breaking == ["citations[].page: type changed from integer | null to string"]


def test_a_change_of_map_values_breaks() -> None:
    lead = current_schemas()["events/afo.lead.created.v1"]
    new = changed(lead)
    new["properties"]["fields"]["additionalProperties"] = {"type": "integer"}

    assert compare(lead, new).breaking == ["fields.{*}: type changed from string to integer"]


def test_a_new_optional_property_is_additive(started: Schema) -> None:
    new = changed(started)
    new["properties"]["locale"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    new["$defs"]["Contact"]["properties"]["company"] = {"type": "string", "default": ""}

    report = compare(started, new)

    assert report.breaking == []
    assert sorted(report.additive) == ["contact.company: new optional property", "locale: new optional property"]


def test_descriptions_titles_and_defaults_do_not_matter(started: Schema) -> None:
    new = changed(started)
    new["description"] = "A conversation began."
    new["properties"]["agent_id"]["title"] = "Agent"
    new["$defs"]["Contact"]["properties"]["name"]["default"] = "anonymous"

    assert compare(started, new).breaking == []


def test_a_response_page_that_changes_its_items_breaks() -> None:
    page = current_schemas()["rpc/agent-runtime.agents.list.response"]
    new = changed(page)
    del new["$defs"]["AgentView"]["properties"]["published_version"]

    assert compare(page, new).breaking == ["data[].published_version: property removed (or renamed)"]


def test_a_type_without_a_snapshot_fails_with_the_command_to_record_it(tmp_path: Path) -> None:
    write_snapshots(tmp_path)
    (tmp_path / "events" / "afo.agent.created.v1.json").unlink()

    failure, _ = verdict("events/afo.agent.created.v1", read_snapshots(tmp_path), current_schemas())

    assert failure is not None and UPDATE_COMMAND in failure and "no snapshot" in failure


def test_a_removed_type_fails(tmp_path: Path) -> None:
    write_snapshots(tmp_path)
    ghost = tmp_path / "events" / "afo.agent.exploded.v1.json"
    ghost.write_text((tmp_path / "events" / "afo.agent.deleted.v1.json").read_text())

    failure, _ = verdict("events/afo.agent.exploded.v1", read_snapshots(tmp_path), current_schemas())

    assert failure is not None and "removed" in failure
    assert write_snapshots(tmp_path) == ([], ["events/afo.agent.exploded.v1"])
    assert not ghost.exists()


def test_an_additive_change_passes_with_a_note_and_a_breaking_one_fails(started: Schema) -> None:
    additive, breaking = changed(started), changed(started)
    additive["properties"]["locale"] = {"type": "string", "default": "en"}
    del breaking["properties"]["channel"]
    key = "events/afo.conversation.started.v1"

    assert verdict(key, {key: started}, {key: started}) == (None, None)
    failure, note = verdict(key, {key: started}, {key: additive})
    assert failure is None and note is not None and "locale: new optional property" in note
    failure, note = verdict(key, {key: started}, {key: breaking})
    assert note is None and failure is not None and "channel: property removed" in failure
