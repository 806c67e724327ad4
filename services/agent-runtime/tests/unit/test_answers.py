"""The extractive answer composer: which sentences answer, how they are cited, and when it declines.
Relevances are those all-MiniLM-L6-v2 gives these questions and passages."""

from dataclasses import replace

import pytest

from afo_agent_runtime.domain.engine.answers import AnswerPolicy, compose_answer, question_of
from afo_agent_runtime.domain.knowledge import Passage, ScoredSentence
from afo_common.events.conversation import Citation

PRICING = Passage(
    "Plans and pricing\nThe Starter plan costs $49 per month and includes up to 3 users. The Pro plan costs $99 "
    "per month for up to 10 users, with priority support. Enterprise pricing is quoted on request.",
    "Pricing", 2, "doc_pricing", 0.03, relevance=0.8, chunk_id="chk_pricing", knowledge_base_id="kb_1",
)
REFUNDS = Passage(
    "Refund policy\nYou can cancel at any time from the billing page. Refunds are available within 30 days of "
    "purchase for annual plans. Monthly plans are not refunded, but you keep access until the end of the period.",
    "Terms of service", 7, "doc_terms", 0.03, relevance=0.6, chunk_id="chk_refunds", knowledge_base_id="kb_1",
)
FAQ = Passage(
    "Do you offer a free trial?\nYes. Every plan starts with a 14-day free trial, no credit card required.\n"
    "Can I change plans later?\nYes, you can upgrade or downgrade at any time and the difference is prorated.",
    "FAQ", None, "doc_faq", 0.02, relevance=0.51, chunk_id="chk_faq", knowledge_base_id="kb_2",
)
SECURITY = Passage(
    "Data security\nAll data is encrypted at rest with AES-256 and in transit with TLS 1.2 or later. Our "
    "infrastructure is hosted on AWS in the EU (Frankfurt) and the U.S. (Virginia). We are SOC 2 Type II "
    "certified and undergo annual penetration tests.",
    "Security whitepaper", 12, "doc_security", 0.02, relevance=0.46, chunk_id="chk_security",
    knowledge_base_id="kb_1",
)


def test_the_sentence_that_answers_is_quoted_with_a_numbered_citation_carrying_the_page() -> None:
    answer = compose_answer("Is my data encrypted?", [SECURITY, PRICING])

    assert answer is not None
    assert answer.text == "All data is encrypted at rest with AES-256 and in transit with TLS 1.2 or later [1]."
    assert answer.citations == (Citation(
        index=1, document_id="doc_security", title="Security whitepaper", page=12,
        snippet="All data is encrypted at rest with AES-256 and in transit with TLS 1.2 or later.",
        chunk_id="chk_security",
    ),)
    assert answer.confidence >= AnswerPolicy().min_confidence


def test_sentences_of_one_passage_keep_their_order_and_share_its_marker() -> None:
    answer = compose_answer("What's your refund policy?", [REFUNDS])

    assert answer is not None
    # The heading lends nothing: "You can cancel…" follows it but is not about refunds.
    assert answer.text == (
        "Refunds are available within 30 days of purchase for annual plans. Monthly plans are not refunded, "
        "but you keep access until the end of the period [1]."
    )
    assert [c.index for c in answer.citations] == [1]


def test_an_faq_answer_is_found_through_its_question() -> None:
    answer = compose_answer("hey, can I switch plans later on?", [FAQ, PRICING])

    assert answer is not None
    assert answer.text == "Yes, you can upgrade or downgrade at any time and the difference is prorated [1]."
    assert answer.citations[0].page is None and answer.citations[0].document_id == "doc_faq"


def test_a_question_about_price_finds_the_amounts_and_cites_two_passages_in_order() -> None:
    answer = compose_answer("How much is it?", [replace(PRICING, relevance=0.31), replace(FAQ, relevance=0.19)])

    assert answer is not None
    assert answer.text == (
        "The Starter plan costs $49 per month and includes up to 3 users. The Pro plan costs $99 per month for up "
        "to 10 users, with priority support [1]. Every plan starts with a 14-day free trial, no credit card "
        "required [2]."
    )
    assert [(c.index, c.document_id) for c in answer.citations] == [(1, "doc_pricing"), (2, "doc_faq")]
    assert answer.citations[1].snippet == "Every plan starts with a 14-day free trial, no credit card required."
    assert len(answer.text) < 420


def test_at_most_three_sentences_and_two_passages() -> None:
    answer = compose_answer("How much is it?", [replace(PRICING, relevance=0.31), replace(FAQ, relevance=0.3),
                                                replace(PRICING, document_id="doc_copy", relevance=0.3)])

    assert answer is not None
    assert len(answer.citations) <= 2
    assert sum(len(c.snippet or "") for c in answer.citations) <= 400


@pytest.mark.parametrize("question", ["What's the weather in Paris?", "Do you support SSO with Okta?",
                                      "Do you have an office in London?", "Can I pay with bitcoin?"])
def test_a_question_the_documents_do_not_answer_gets_no_answer(question: str) -> None:
    # Relevances as low as the model gives these questions: 0.1 to 0.32.
    passages = [replace(p, relevance=0.3) for p in (SECURITY, PRICING, FAQ, REFUNDS)]

    assert compose_answer(question, passages) is None


def test_a_word_in_common_is_not_enough_when_the_passage_is_not_relevant() -> None:
    # "support" is in the passage, but the passage is about something else.
    support = Passage("Our support team is available Monday to Friday, 9 a.m. to 6 p.m. CET, by chat and email.",
                      "Support guide", 3, "doc_support", 0.02, relevance=0.32)

    assert compose_answer("Do you support SSO with Okta?", [support]) is None
    assert compose_answer("What are your support hours?", [replace(support, relevance=0.64)]) is not None


def test_the_threshold_is_a_parameter() -> None:
    strict = AnswerPolicy(min_confidence=0.95)

    assert compose_answer("Is my data encrypted?", [SECURITY]) is not None
    assert compose_answer("Is my data encrypted?", [SECURITY], strict) is None


def test_near_duplicates_from_overlapping_chunks_are_quoted_once() -> None:
    overlapping = replace(SECURITY, chunk_id="chk_security_2", text="Data security. All data is encrypted at rest "
                          "with AES-256 and in transit with TLS 1.2 or later.")

    answer = compose_answer("Is my data encrypted at rest and in transit?", [SECURITY, overlapping])

    assert answer is not None
    assert answer.text.count("encrypted at rest") == 1
    assert [c.chunk_id for c in answer.citations] == ["chk_security"]


def test_a_long_sentence_is_trimmed_at_a_clause_and_keeps_its_marker() -> None:
    long = Passage(
        "The onboarding programme, which every new customer joins in the first week, includes a kickoff call with "
        "a customer success manager, an import of your existing contacts and deals from the tool you use today, "
        "three training sessions for your team covering the inbox, the workflows and the reports, a review of "
        "your funnel after thirty days, and a written plan for the next quarter that your manager signs off "
        "before the second review takes place.",
        "Onboarding", 1, "doc_onboarding", 0.02, relevance=0.7,
    )

    answer = compose_answer("What does the onboarding programme include?", [long])

    assert answer is not None
    assert len(answer.text) <= 410
    assert answer.text.endswith("… [1]")
    assert ", " not in answer.text[-8:]
    assert answer.citations[0].snippet is not None and answer.citations[0].snippet.endswith("…")


def test_questions_headings_and_fragments_are_never_quoted() -> None:
    cut = Passage("integrations are set up in minutes. Do you integrate with Salesforce?\nIntegrations\n"
                  "Acme Chat integrates with Salesforce and HubSpot out of the box. Setting up Salesforce takes",
                  "Product", 4, "doc_product", 0.02, relevance=0.56)

    answer = compose_answer("Do you integrate with Salesforce?", [cut])

    assert answer is not None
    assert answer.text == "Acme Chat integrates with Salesforce and HubSpot out of the box [1]."


def test_no_passages_or_no_content_words_give_no_answer() -> None:
    assert compose_answer("Is my data encrypted?", []) is None
    assert compose_answer("what is it?", [SECURITY]) is None


def test_a_passage_without_relevance_needs_more_words_in_common() -> None:
    unscored = replace(SECURITY, relevance=None)

    assert compose_answer("Is my data encrypted?", [unscored]) is not None  # both words
    assert compose_answer("Where is the data hosted in Europe?", [unscored]) is None  # one word of four


def test_the_question_is_the_part_of_the_message_that_asks() -> None:
    assert question_of("I'm Dana from Acme. Is my data encrypted? Thanks") == "Is my data encrypted?"
    assert question_of("tell me about your pricing") == "tell me about your pricing"


ALIGNERS = Passage(
    "We offer Invisalign clear aligners for adults and teens. Treatment usually lasts 6 to 18 months.",
    "Orthodontics", None, "doc_ortho", 0.03, relevance=0.55, chunk_id="chk_ortho",
    sentences=(ScoredSentence("We offer Invisalign clear aligners for adults and teens.", 0.41),
               ScoredSentence("Treatment usually lasts 6 to 18 months.", 0.63)),
)


def test_a_sentences_own_relevance_picks_it_over_one_with_more_words_in_common() -> None:
    answer = compose_answer("roughly how long would I be wearing clear aligners?", [ALIGNERS])

    assert answer is not None
    assert answer.text == "Treatment usually lasts 6 to 18 months [1]."
    assert answer.citations[0].chunk_id == "chk_ortho"


def test_without_sentence_scores_the_word_overlap_rules_as_before() -> None:
    plain = replace(ALIGNERS, sentences=None)

    answer = compose_answer("roughly how long would I be wearing clear aligners?", [plain])

    assert answer is not None and answer.text.startswith("We offer Invisalign clear aligners")


def test_declines_when_the_best_sentence_is_not_relevant_enough_even_with_a_relevant_passage() -> None:
    heaters = Passage("We repair and replace gas and electric tank water heaters.", "Services", None, "doc_s", 0.03,
                      relevance=0.6, sentences=(ScoredSentence(
                          "We repair and replace gas and electric tank water heaters.", 0.39),))

    assert compose_answer("Do you pump septic tanks?", [heaters]) is None
    assert compose_answer("Do you pump septic tanks?", [heaters], AnswerPolicy(min_relevance=0.35)) is not None


def test_with_sentence_scores_a_price_row_is_quoted_for_a_price_question() -> None:
    prices = Passage("Fees\nAdult cleaning $125\nPorcelain crown $1,395", "Fees", None, "doc_fees", 0.03,
                     relevance=0.5, sentences=(ScoredSentence("Adult cleaning $125", 0.42),
                                               ScoredSentence("Porcelain crown $1,395", 0.58)))

    answer = compose_answer("price of a crown", [prices])

    assert answer is not None and answer.text.startswith("Porcelain crown $1,395")
