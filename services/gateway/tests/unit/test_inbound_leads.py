"""Reading a submitted lead (``domain/inbound.py``): common names and a field map, validation by phonenumbers
and email-validator, and the dedupe key."""

from __future__ import annotations

import pytest

from afo_gateway.domain.inbound import InvalidLead, dedupe_key, read_lead


def test_common_names_are_found_and_normalised() -> None:
    lead = read_lead({"First_Name": "Dana", "last_name": "Reyes", "Email": "Dana@Example.COM",
                      "phone_number": "(415) 555-0199", "company_name": "Acme", "comments": "Need a demo",
                      "id": 42}, {}, "US")
    assert (lead.name, lead.email, lead.phone, lead.company, lead.message, lead.external_id) == (
        "Dana Reyes", "Dana@example.com", "+14155550199", "Acme", "Need a demo", "42")
    assert lead.fields == {"name": "Dana Reyes", "email": "Dana@example.com", "phone": "+14155550199",
                           "company": "Acme"}


def test_a_field_map_reaches_into_nested_json() -> None:
    lead = read_lead({"lead": {"contact": {"mail": "lee@example.com"}, "ref": "fb-9"}, "email": "not@this.one"},
                     {"email": "lead.contact.mail", "external_id": "lead.ref"}, None)
    assert (lead.email, lead.phone, lead.external_id) == ("lee@example.com", None, "fb-9")


@pytest.mark.parametrize(("payload", "region", "loc"), [
    ({"email": "not-an-email"}, None, ["body", "email"]),
    ({"phone": "4155550199"}, None, ["body", "phone"]),  # no country code and no region
    ({"phone": "+1 555"}, None, ["body", "phone"]),
    ({"name": "Dana"}, None, ["body"]),  # nothing to reach the lead by
])
def test_unusable_leads_are_refused_with_where(payload: dict[str, str], region: str | None, loc: list[str]) -> None:
    with pytest.raises(InvalidLead) as refused:
        read_lead(payload, {}, region)
    assert [e["loc"] for e in refused.value.errors] == [loc]


def test_the_dedupe_key_is_the_external_id_else_the_payload() -> None:
    one = {"email": "a@example.com", "id": "7"}
    same_id = {"email": "b@example.com", "id": "7"}
    no_id, reordered = {"email": "a@example.com", "x": "1"}, {"x": "1", "email": "a@example.com"}
    key = dedupe_key("src_1", read_lead(one, {}, None), one)
    assert key == dedupe_key("src_1", read_lead(same_id, {}, None), same_id)
    assert key != dedupe_key("src_2", read_lead(one, {}, None), one)
    assert dedupe_key("src_1", read_lead(no_id, {}, None), no_id) == dedupe_key(
        "src_1", read_lead(reordered, {}, None), reordered)
    assert 8 <= len(key) <= 64
