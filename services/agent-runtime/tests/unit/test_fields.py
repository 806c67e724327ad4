import pytest

from afo_agent_runtime.domain.agent import DEFAULT_QUALIFICATION_FIELDS, FieldKind, QualificationField
from afo_agent_runtime.domain.engine.fields import FieldInvalid, extract_fields, validate_field

SALES_FIELDS = [QualificationField(name="name", kind="name"), *DEFAULT_QUALIFICATION_FIELDS]
WITH_PHONE = [*SALES_FIELDS, QualificationField(name="phone", kind="phone", required=False)]


@pytest.mark.parametrize(
    ("kind", "value", "normalised"),
    [
        ("email", "Dana@ACME.io", "Dana@acme.io"),
        ("email", " <dana.smith+leads@mail.acme.co.uk>. ", "dana.smith+leads@mail.acme.co.uk"),
        ("email", "mailto:ops@Acme.IO", "ops@acme.io"),
        ("phone", "(555) 123-4567", "+15551234567"),
        ("phone", "555.123.4567", "+15551234567"),
        ("phone", "1 555 123 4567", "+15551234567"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "0044 20 7946 0958", "+442079460958"),
        ("company", "acme corp", "Acme Corp"),
        ("company", "eBay", "eBay"),
        ("company", "  Northwind   Traders. ", "Northwind Traders"),
        ("need", "a  chatbot for our website", "a chatbot for our website"),
        ("name", "dana smith", "Dana Smith"),
        ("name", "Anne-Marie O'Neil", "Anne-Marie O'Neil"),
        ("name", "José", "José"),
        ("text", "  blue  ", "blue"),
        ("budget", "$10k", "USD 10000"),
        ("budget", "10,000 dollars", "USD 10000"),
        ("budget", "around 5K USD", "USD 5000"),
        ("budget", "€2.5m", "EUR 2500000"),
        ("budget", "50k-80k", "USD 50000-80000"),
        ("budget", "$50-80k", "USD 50000-80000"),
        ("budget", "between 80k and 50k", "USD 50000-80000"),
        ("budget", "£3,500.50", "GBP 3500.50"),
        ("budget", "1.5 million euros", "EUR 1500000"),
        ("budget", "about 10k", "USD 10000"),
        ("budget", "12000", "USD 12000"),
        ("budget", "for 2026 we set aside 40k", "USD 40000"),
        ("timeline", "ASAP", "asap"),
        ("timeline", "as soon as possible", "asap"),
        ("timeline", "next quarter", "next quarter"),
        ("timeline", "within 3 months", "within 3 months"),
        ("timeline", "in two weeks", "within 2 weeks"),
        ("timeline", "in a couple of months", "within 2 months"),
        ("timeline", "Q3", "Q3"),
        ("timeline", "by q4 2026", "by Q4 2026"),
        ("timeline", "by March", "by March"),
        ("timeline", "sometime in sept", "September"),
        ("timeline", "end of the year", "end of year"),
        ("timeline", "March", "March"),
        ("timeline", "no rush", "no rush"),
    ],
)
def test_valid_values_are_normalised(kind: FieldKind, value: str, normalised: str) -> None:
    assert validate_field(kind, value) == normalised


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("email", "dana@acme", "incomplete"),
        ("email", "dana.acme.io", "missing the @"),
        ("email", "dana at acme dot com", "missing the @"),
        ("email", "a@b@acme.io", "more than one @"),
        ("email", "@acme.io", "before the @"),
        ("email", "dana@", "after the @"),
        ("email", "da..na@acme.io", "part before the @"),
        ("email", "dana@-acme.io", "domain after the @ is not valid"),
        ("email", "dana@acme.1", "ending is not valid"),
        ("phone", "12345", "too few digits"),
        ("phone", "1234567890123456", "too many digits"),
        ("phone", "1234567", "missing the area code"),
        ("phone", "555-CALL-NOW", "only digits"),
        ("company", "the company", "generic"),
        ("company", "N/A", "generic"),
        ("company", "...", "does not look like a company"),
        ("company", "x" * 121, "at most 120"),
        ("need", "ok", "a little more"),
        ("need", "x" * 501, "under 500"),
        ("name", "R2-D2", "only letters"),
        ("name", "", "empty"),
        ("name", "a" * 81, "at most 80"),
        ("text", "   ", "empty"),
        ("text", "x" * 501, "under 500"),
        ("budget", "no idea", "couldn't find an amount"),
        ("budget", "$0", "more than zero"),
        ("budget", "we have 3 months", "couldn't find an amount"),
        ("budget", "5000 billion dollars", "too large"),
        ("timeline", "next Tuesday at 3pm", "couldn't tell when"),
        ("timeline", "tomorrow", "couldn't tell when"),
    ],
)
def test_invalid_values_raise_with_a_readable_reason(kind: FieldKind, value: str, reason: str) -> None:
    with pytest.raises(FieldInvalid) as caught:
        validate_field(kind, value)

    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_one_rich_message_fills_every_field_it_mentions() -> None:
    text = (
        "I'm Dana from Acme Corp, email dana@acme.io, we need a chatbot for our website, "
        "budget about 20k, want to launch next quarter"
    )

    extraction = extract_fields(text, SALES_FIELDS, awaiting=None)

    assert extraction.values == {
        "name": "Dana",
        "email": "dana@acme.io",
        "company": "Acme Corp",
        "need": "a chatbot for our website",
        "budget": "USD 20000",
        "timeline": "next quarter",
    }
    assert extraction.invalid == {}


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Hi, I'm Dana from Acme", {"name": "Dana", "company": "Acme"}),
        ("My name is dana smith and I work at globex", {"name": "Dana Smith", "company": "Globex"}),
        (
            "Our company is called Northwind Traders. We need help with lead follow-up",
            {
                "company": "Northwind Traders",
                "need": "help with lead follow-up",
            },
        ),
        ("We are looking for a CRM integration.", {"need": "a CRM integration"}),
        ("I'm interested in automating support", {"need": "automating support"}),
        ("budget is 50k-80k USD and we'd like it live by March", {"budget": "USD 50000-80000", "timeline": "by March"}),
        ("We can spend around €15k", {"budget": "EUR 15000"}),
        ("call me at (555) 123-4567", {"phone": "+15551234567"}),
        ("my number is +44 20 7946 0958", {"phone": "+442079460958"}),
        ("Sure, it's dana@acme.io.", {"email": "dana@acme.io"}),
    ],
)
def test_fields_are_found_in_free_text(text: str, values: dict[str, str]) -> None:
    assert extract_fields(text, WITH_PHONE, awaiting=None).values == values


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("I need to talk to a human", {}),
        ("can we meet next Tuesday at 3pm", {}),
        ("Actually can we do next Thursday at 2pm instead?", {}),  # "we do … at" is no workplace here
        ("can we do Thursday at 2 instead?", {}),
        ("We need a demo", {}),
        ("I'm looking at options", {}),
        ("I am Interested in pricing", {}),
        ("we have 50 employees and 3 offices", {}),
        ("our pricing page says $99 a month", {}),
        ("can we talk next week?", {}),
        ("we want to launch next quarter", {"timeline": "next quarter"}),
    ],
)
def test_nothing_is_read_into_messages_that_do_not_state_it(text: str, values: dict[str, str]) -> None:
    extraction = extract_fields(text, SALES_FIELDS, awaiting=None)

    assert extraction.values == values
    assert extraction.invalid == {}


def test_a_value_that_fails_validation_is_reported_as_invalid_not_dropped() -> None:
    extraction = extract_fields("my email is dana@acme", SALES_FIELDS, awaiting=None)

    assert extraction.values == {}
    assert extraction.invalid == {"email": "it looks incomplete, as the domain needs an ending such as .com"}


@pytest.mark.parametrize(
    ("awaiting", "text", "value"),
    [
        ("company", "Acme", "Acme"),
        ("company", "we're Acme Corp, a small agency", "Acme Corp"),
        ("budget", "about 10k", "USD 10000"),
        ("budget", "15000", "USD 15000"),
        ("timeline", "asap", "asap"),
        ("timeline", "Q3", "Q3"),
        ("name", "dana", "Dana"),
        ("name", "It's Dana, nice to meet you", "Dana"),
        ("need", "a chatbot that answers leads at night", "a chatbot that answers leads at night"),
        ("email", "ok it's dana@acme.io", "dana@acme.io"),
    ],
)
def test_a_bare_answer_fills_the_awaited_field(awaiting: str, text: str, value: str) -> None:
    assert extract_fields(text, SALES_FIELDS, awaiting=awaiting).values == {awaiting: value}


def test_a_capitalised_first_phrase_answers_the_awaited_company_beside_other_fields() -> None:
    extraction = extract_fields("Acme, and we need a chatbot", SALES_FIELDS, awaiting="company")

    assert extraction.values == {"company": "Acme", "need": "a chatbot"}


def test_a_bare_answer_that_is_invalid_is_reported_against_the_awaited_field() -> None:
    extraction = extract_fields("dana at acme dot com", SALES_FIELDS, awaiting="email")

    assert extraction.values == {}
    assert extraction.invalid == {"email": "it is missing the @ sign"}


@pytest.mark.parametrize(
    ("awaiting", "text"),
    [
        ("company", "why do you need that?"),
        ("company", "ok"),
        ("company", "my email is dana@acme.io"),
        ("need", "I need to talk to a human"),
        ("name", "sure"),
        ("name", "sorry, my email is dana@globex.com"),
        ("name", "oh and my email is dana@globex.com"),
        ("need", "asap, budget 10k"),
    ],
)
def test_a_message_that_is_not_an_answer_does_not_fill_the_awaited_field(awaiting: str, text: str) -> None:
    extraction = extract_fields(text, SALES_FIELDS, awaiting=awaiting)

    assert awaiting not in extraction.values
    assert awaiting not in extraction.invalid


def test_an_unconfigured_kind_is_never_extracted() -> None:
    extraction = extract_fields("call me at (555) 123-4567", SALES_FIELDS, awaiting=None)

    assert extraction.values == {}


def test_the_value_of_a_kind_goes_to_the_awaited_field_of_that_kind() -> None:
    fields = [QualificationField(name="work_email", kind="email"), QualificationField(name="cc", kind="email")]

    extraction = extract_fields("use ops@acme.io", fields, awaiting="cc")

    assert extraction.values == {"cc": "ops@acme.io"}
