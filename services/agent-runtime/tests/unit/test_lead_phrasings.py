"""How leads actually write: facts said in passing, in lowercase, with typos, several at once, and the
things that look like facts but are not. The sentences here are not the benchmark's (bench/data/)."""

import pytest

from afo_agent_runtime.domain.agent import DEFAULT_QUALIFICATION_FIELDS, QualificationField
from afo_agent_runtime.domain.engine.fields import extract_fields

FIELDS = [
    QualificationField(name="name", kind="name"),
    *DEFAULT_QUALIFICATION_FIELDS,
    QualificationField(name="phone", kind="phone", required=False),
    QualificationField(name="seats", kind="text", required=False),
]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        # names
        ("Alex here", {"name": "Alex"}),
        ("hey, noor here", {"name": "Noor"}),
        ("Name's Bea", {"name": "Bea"}),
        ("you can call me Theo", {"name": "Theo"}),
        ("I go by Mo", {"name": "Mo"}),
        ("Thanks a lot, Ingrid", {"name": "Ingrid"}),
        ("That's all for now. - Wen Li", {"name": "Wen Li"}),
        ("Kind regards, Tomasz Nowak", {"name": "Tomasz Nowak"}),
        ("it's Ruth by the way", {"name": "Ruth"}),
        # companies
        ("I head up operations at Fernway Foods", {"company": "Fernway Foods"}),
        ("writing on behalf of Calder Veterinary", {"company": "Calder Veterinary"}),
        ("Our clinic, Bright Smiles Dental, has four chairs", {"company": "Bright Smiles Dental"}),
        ("I run a tiny studio called Moss & Fern", {"company": "Moss & Fern"}),
        ("i'm the office manager at hollis family dental", {"company": "Hollis Family Dental"}),
        ("Here at Quill Accounting we file taxes", {"company": "Quill Accounting"}),
        ("I do bookkeeping for Ardent Labs", {"company": "Ardent Labs"}),
        ("We're Northgate Movers", {"company": "Northgate Movers"}),
        ("Ivy Chen, Ops Lead at Parcelo", {"name": "Ivy Chen", "company": "Parcelo"}),
        ("Omar from tidal surf school", {"name": "Omar", "company": "Tidal Surf School"}),
        # needs
        ("hoping to get an assistant that answers reviews", {"need": "an assistant that answers reviews"}),
        ("our biggest challenge is no-shows", {"need": "no-shows"}),
        ("my boss wants a bot for our Instagram DMs", {"need": "a bot for our Instagram DMs"}),
        ("we'd love help qualifying web leads", {"need": "help qualifying web leads"}),
        ("we struggle with after-hours enquiries", {"need": "after-hours enquiries"}),
        # budgets and timelines
        ("we could pay 900 a month", {"budget": "USD 900"}),
        ("our cap is $6k", {"budget": "USD 6000"}),
        ("about 30 thousand euros", {"budget": "EUR 30000"}),
        ("hoping to launch in roughly 8 weeks", {"timeline": "within 8 weeks"}),
        ("the sooner the better honestly", {"timeline": "asap"}),
        ("no hurry at all", {"timeline": "no rush"}),
        ("we'd like it done before winter", {"timeline": "by winter"}),
        # typos and shorthand
        ("my emial is sam@quill.co", {"email": "sam@quill.co"}),
        ("budjet is 4k", {"budget": "USD 4000"}),
        ("comapny is vesper labs", {"company": "Vesper Labs"}),
        ("nxt quarter", {"timeline": "next quarter"}),
        # several facts in one sentence
        (
            "im lena from orbit yoga, we need a class booking bot, budget 2k, live in 3 weeks",
            {
                "name": "Lena",
                "company": "Orbit Yoga",
                "need": "a class booking bot",
                "budget": "USD 2000",
                "timeline": "within 3 weeks",
            },
        ),
        ("reach me at (415) 867-5309 or sam@quill.co", {"phone": "+14158675309", "email": "sam@quill.co"}),
        ("I'm Sam from Brightway Inc. We need a CRM", {"name": "Sam", "company": "Brightway Inc", "need": "a CRM"}),
        ("i work at mt. hood outfitters", {"company": "Mt. Hood Outfitters"}),
        ("I work at 24 Hour Fitness", {"company": "24 Hour Fitness"}),  # a number that is no clock time
    ],
)
def test_facts_said_in_passing_are_found(text: str, values: dict[str, str]) -> None:
    assert extract_fields(text, FIELDS, awaiting=None).values == values


@pytest.mark.parametrize(
    "text",
    [
        "I'm looking for a tool",
        "we need some info",
        "my budget is tight",
        "budget is still being discussed",
        "I'm not sure yet",
        "We use Intercom today",
        "we switched from Zendesk last year",
        "I used to work at Oracle",
        "my cousin at Globex told me about you",
        "I love your product",
        "I'm excited to try this",
        "I'm new here",
        "we have 14 staff and 3 vans",
        "we pay $200 a month for our current system",
        "I saw the $49 plan",
        "our invoice number is 55512345",
        "we opened in 2019",
        "can we talk next week?",
        "my partner needs to approve it",
        "dana at acme dot com",
    ],
)
def test_what_only_looks_like_a_fact_is_not_extracted(text: str) -> None:
    extraction = extract_fields(text, FIELDS, awaiting=None)

    assert extraction.values == {}
    assert extraction.invalid == {}


@pytest.mark.parametrize(
    ("awaiting", "text", "value"),
    [
        ("company", "a small agency, Lumen Works", "Lumen Works"),
        ("company", "we're called Tern", "Tern"),
        ("name", "Mrs. Ada Obi", "Ada Obi"),
        ("name", "sure - Kai", "Kai"),
        ("timeline", "a couple of weeks", "within 2 weeks"),
        ("seats", "about 40 seats", "about 40 seats"),
        ("seats", "ok, just the two of us", "just the two of us"),
    ],
)
def test_bare_answers_in_the_words_people_use(awaiting: str, text: str, value: str) -> None:
    assert extract_fields(text, FIELDS, awaiting=awaiting).values == {awaiting: value}


@pytest.mark.parametrize(
    ("awaiting", "text"),
    [
        ("company", "just me, I freelance"),
        ("company", "I'd rather not say"),
        ("company", "we're a startup"),
        ("need", "just browsing for now"),
        ("budget", "no idea yet"),
        ("timeline", "not sure"),
        ("email", "I'd prefer not to share it"),
        ("email", "we can spend about 5k"),
    ],
)
def test_a_shrug_or_a_refusal_answers_nothing_and_is_not_called_invalid(awaiting: str, text: str) -> None:
    extraction = extract_fields(text, FIELDS, awaiting=awaiting)

    assert awaiting not in extraction.values
    assert extraction.invalid == {}
