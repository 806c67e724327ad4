import pytest

from afo_agent_runtime.domain.engine.sentences import content_words, split_sentences, stem, trim


def test_sentences_end_at_a_stop_before_a_capital() -> None:
    text = "Refunds are available within 30 days. Monthly plans are not refunded! Any questions? Ask us."

    assert split_sentences(text) == [
        "Refunds are available within 30 days.",
        "Monthly plans are not refunded!",
        "Any questions?",
        "Ask us.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Maria Lopez leads the team.",
        "We work with retailers, e.g. Acme and Globex, across Europe.",
        "Globex Inc. Partners get a discount.",
        "The fee is 3.5 percent of $1,299.00 per year.",
        "Contact J. Smith for details.",
        "It ships to the U.S. And to Canada.",
        "Support runs 9 a.m. To 6 p.m. on weekdays.",
    ],
)
def test_abbreviations_initials_and_decimals_do_not_end_a_sentence(text: str) -> None:
    assert split_sentences(text) == [text]


def test_closing_quotes_stay_with_their_sentence() -> None:
    assert split_sentences('She said "it works." Then it shipped.') == ['She said "it works."', "Then it shipped."]


def test_headings_and_list_items_are_their_own_lines_and_wrapped_lines_are_joined() -> None:
    text = (
        "Refund policy\n"
        "Refunds are available within 30 days of purchase for annual plans, and the money goes back\n"
        "to the card you paid with.\n"
        "\n"
        "What is included:\n"
        "- Unlimited users\n"
        "* Priority support\n"
        "2. A dedicated success manager\n"
    )

    assert split_sentences(text) == [
        "Refund policy",
        "Refunds are available within 30 days of purchase for annual plans, and the money goes back to the card "
        "you paid with.",
        "What is included:",
        "Unlimited users",
        "Priority support",
        "A dedicated success manager",
    ]


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences(" \n\n ") == []


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (("prices", "pricing", "priced", "price"), "pric"),
        (("refunds", "refunded", "refund"), "refund"),
        (("policies", "policy"), "policy"),
        (("shipping", "ships", "shipped"), "ship"),
        (("billing", "bills"), "bill"),
        (("businesses", "business"), "business"),
    ],
)
def test_light_stemming_makes_the_forms_of_a_word_agree(words: tuple[str, ...], same: str) -> None:
    assert {stem(w) for w in words} == {same}


def test_content_words_drop_stop_words_and_question_words() -> None:
    assert content_words("What's your refund policy, and how do I get one?") == {"refund", "policy"}
    assert content_words("Hi! Can you tell me if you\u2019re SOC 2 certified?") == {"soc", "2", "certifi"}


def test_trim_cuts_at_a_clause_break_past_half_the_limit_else_at_a_word() -> None:
    text = "All data is encrypted at rest with AES-256, in transit with TLS 1.2 or later, and in backups too."

    assert trim(text, 200) == text
    assert trim(text, 80) == "All data is encrypted at rest with AES-256, in transit with TLS 1.2 or later…"
    assert trim("word " * 30, 24) == "word word word word…"
    assert len(trim("x" * 500, 100)) == 100
