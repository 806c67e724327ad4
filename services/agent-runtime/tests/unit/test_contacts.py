import pytest

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine.contacts import find_phone
from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid
from afo_agent_runtime.domain.engine.field_values import validate_field
from afo_agent_runtime.domain.engine.phone_region import phone_region_for


@pytest.mark.parametrize(
    ("value", "region", "e164"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("07700 900123", "GB", "+447700900123"),
        ("030 12345678", "DE", "+493012345678"),
        ("(415) 867-5309", "US", "+14158675309"),
        ("+44 20 7946 0958", "FR", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("0612345678", "US", "+10612345678"),
    ],
)
def test_a_phone_number_is_read_in_the_agents_region_and_stored_in_e164(value: str, region: str, e164: str) -> None:
    assert validate_field("phone", value, phone_region=region) == e164


def test_a_number_too_short_for_its_region_is_refused_with_a_reason() -> None:
    with pytest.raises(FieldInvalid, match="too few digits"):
        validate_field("phone", "06 12 34", phone_region="FR")


@pytest.mark.parametrize(
    ("text", "region", "found"),
    [
        ("mon portable : 06 12 34 56 78", "FR", "06 12 34 56 78"),
        ("ring me on 07700 900123 after 5", "GB", "07700 900123"),
        ("415-867-5309 is best", "US", "415-867-5309"),
        ("budget 10000-15000", "US", None),
        ("our order number is 48213377", "US", None),
        ("we have 1500 customers in 2025", "US", None),
    ],
)
def test_only_numbers_that_are_phone_numbers_are_found(text: str, region: str, found: str | None) -> None:
    assert find_phone(text, region) == found


@pytest.mark.parametrize(
    ("settings", "region"),
    [
        ({"timezone": "Europe/Paris"}, "FR"),
        ({"timezone": "Europe/London"}, "GB"),
        ({"timezone": "America/Toronto"}, "CA"),
        ({"timezone": "UTC"}, "US"),
        ({"timezone": "Europe/Paris", "phone_region": "be"}, "BE"),
        ({}, "US"),
    ],
)
def test_the_region_is_the_agents_else_its_time_zones_country_else_us(settings: dict[str, str], region: str) -> None:
    assert phone_region_for(AgentSpec.model_validate({"name": "Ava", **settings})) == region


def test_an_unknown_phone_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown phone region 'ZZ'"):
        AgentSpec(name="Ava", phone_region="ZZ")


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("Dana.Smith@ACME.IO", "Dana.Smith@acme.io"),
        ("josé@exämple.de", "josé@exämple.de"),
        ("<ops@acme.io>.", "ops@acme.io"),
    ],
)
def test_an_email_is_checked_for_syntax_only_and_its_domain_lower_cased(value: str, normalised: str) -> None:
    assert validate_field("email", value) == normalised


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("dana@acme,com", "domain after the @ is not valid"),
        (".dana@acme.io", "part before the @"),
        ("dana@localhost", "incomplete"),
    ],
)
def test_an_invalid_email_gets_a_reason_in_plain_words(value: str, reason: str) -> None:
    with pytest.raises(FieldInvalid, match=reason):
        validate_field("email", value)
