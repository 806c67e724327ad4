"""The embedded engine answering from the tenant's documents: the passages a search found come in, a cited
extractive answer (or an honest "not in our documents" and the offer of a person) goes out."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from afo_agent_runtime.domain.agent import DEFAULT_QUALIFICATION_FIELDS, AgentSpec, QualificationField
from afo_agent_runtime.domain.engine import ConversationMemory, EmbeddedEngine, Intent, TurnDecision
from afo_agent_runtime.domain.knowledge import Lookup, Passage

NOW = datetime(2025, 11, 26, 10, 0, tzinfo=ZoneInfo("America/New_York"))
FIELDS = [QualificationField(name="name", kind="name"), *DEFAULT_QUALIFICATION_FIELDS]
AGENT = AgentSpec(name="Ava", timezone="America/New_York", qualification_fields=FIELDS, knowledge_base_ids=["kb_1"])
NO_DOCUMENTS = AgentSpec(name="Ava", timezone="America/New_York", qualification_fields=FIELDS)
SECURITY = Passage(
    "Data security\nAll data is encrypted at rest with AES-256 and in transit with TLS 1.2 or later. We are SOC 2 "
    "Type II certified.", "Security whitepaper", 12, "doc_security", 0.03, relevance=0.46, chunk_id="chk_1",
    knowledge_base_id="kb_1",
)
PRICING = Passage(
    "The Starter plan costs $49 per month and includes up to 3 users. The Pro plan costs $99 per month.",
    "Pricing", 2, "doc_pricing", 0.03, relevance=0.42, chunk_id="chk_2", knowledge_base_id="kb_1",
)
GREETED = ConversationMemory(greeted=True, turns=1, awaiting_field="name")
NOT_FOUND = "I couldn't find that in our documents — would you like me to connect you with someone from the team?"
engine = EmbeddedEngine()


def test_a_question_with_passages_gets_the_sentence_that_answers_and_its_citation() -> None:
    decision = engine.respond(AGENT, GREETED, "Is my data encrypted?", NOW, Lookup((SECURITY,)))

    assert decision.intent is Intent.QUESTION
    assert decision.reply == (
        "From our documents: All data is encrypted at rest with AES-256 and in transit with TLS 1.2 or later [1]. "
        "Who am I speaking with?"
    )
    (citation,) = decision.citations
    assert (citation.index, citation.document_id, citation.title, citation.page, citation.chunk_id) == (
        1, "doc_security", "Security whitepaper", 12, "chk_1")
    assert decision.memory.awaiting_field == "name"  # qualification goes on after the answer
    assert not decision.memory.handoff_offered


def test_a_pricing_question_is_answered_from_the_documents_not_with_the_quote_line() -> None:
    (decision,) = [engine.respond(AGENT, ConversationMemory(), "How much does the Pro plan cost?", NOW,
                                  Lookup((PRICING,)))]

    assert decision.intent is Intent.PRICING
    assert "The Pro plan costs $99 per month [1]." in decision.reply
    assert "tailored quote" not in decision.reply
    assert decision.reply.startswith("Hi, I'm Ava") and decision.reply.endswith("Who am I speaking with?")
    assert [c.document_id for c in decision.citations] == ["doc_pricing"]


@pytest.mark.parametrize(("persona", "opening"), [
    ("formal", "According to our documentation: All data"), ("friendly", "Good question! From our documents:")])
def test_the_answer_is_introduced_in_the_personas_register(persona: str, opening: str) -> None:
    agent = AGENT.model_copy(update={"persona": persona})

    assert opening in engine.respond(agent, GREETED, "Is my data encrypted?", NOW, Lookup((SECURITY,))).reply


def test_without_knowledge_bases_nothing_changes() -> None:
    for text in ("Is my data encrypted?", "how much does it cost?", "Hi, I'm Dana"):
        searched = engine.respond(NO_DOCUMENTS, GREETED, text, NOW, Lookup((SECURITY, PRICING)))
        plain = engine.respond(NO_DOCUMENTS, GREETED, text, NOW)
        assert searched == plain
        assert searched.citations == ()
        assert engine.knowledge_query(NO_DOCUMENTS, GREETED, text) is None


def test_only_questions_are_searched_for_and_the_query_is_the_question() -> None:
    assert engine.knowledge_query(AGENT, GREETED, "I'm Dana from Acme. Is my data encrypted?") == (
        "Is my data encrypted?")
    assert engine.knowledge_query(AGENT, GREETED, "how much does it cost") == "how much does it cost"
    for text in ("Hi, I'm Dana", "can I talk to a person?", "book a call Tuesday at 3pm", "STOP", "hello"):
        assert engine.knowledge_query(AGENT, GREETED, text) is None
    assert engine.knowledge_query(AGENT, ConversationMemory(opted_out=True), "Is my data encrypted?") is None


def test_a_failed_search_is_said_plainly_with_the_offer_of_a_person() -> None:
    decision = engine.respond(AGENT, GREETED, "Is my data encrypted?", NOW, Lookup(failed=True))

    assert decision.reply == (
        "I can't look that up right now — would you like me to connect you with someone from the team?")
    assert decision.citations == ()
    assert decision.memory.handoff_offered and decision.memory.awaiting_field is None
    assert decision.handoff_reason is None


def test_an_unanswered_question_is_declined_without_inventing_and_a_yes_hands_off() -> None:
    unrelated = Passage("Our office dog is called Biscuit.", "Team page", None, "doc_team", 0.01, relevance=0.05,
                        knowledge_base_id="kb_1")
    declined = engine.respond(AGENT, GREETED, "Do you support SSO with Okta?", NOW, Lookup((unrelated,)))
    accepted = engine.respond(AGENT, declined.memory, "yes please", NOW)
    later = engine.respond(AGENT, accepted.memory, "yes", NOW)

    assert declined.reply == NOT_FOUND
    assert "Biscuit" not in declined.reply and declined.citations == ()
    assert declined.handoff_reason is None and declined.memory.handoff_offered
    assert accepted.intent is Intent.HUMAN
    assert accepted.handoff_reason is not None
    assert "passing this conversation to a person" in accepted.reply
    assert accepted.memory.handoff_requested and not accepted.memory.handoff_offered
    assert later.handoff_reason is None  # the offer was taken once; a later "yes" is not another hand-off


def test_a_no_to_the_offer_goes_back_to_qualifying() -> None:
    declined = engine.respond(AGENT, GREETED, "Do you support SSO?", NOW, Lookup(()))
    refused = engine.respond(AGENT, declined.memory, "no thanks", NOW)

    assert declined.reply == NOT_FOUND
    assert refused.handoff_reason is None and not refused.memory.handoff_requested
    assert refused.reply.endswith("Who am I speaking with?")
    assert not refused.memory.handoff_offered


def test_a_yes_without_an_offer_is_not_a_hand_off() -> None:
    decision = engine.respond(AGENT, GREETED, "yes", NOW)

    assert decision.handoff_reason is None


def test_passages_of_another_knowledge_base_or_without_text_are_ignored() -> None:
    foreign = Passage(SECURITY.text, "Other tenant's doc", 1, "doc_x", 0.05, relevance=0.9, knowledge_base_id="kb_9")
    empty = Passage("   ", "Blank", 1, "doc_blank", 0.04, relevance=0.9, knowledge_base_id="kb_1")

    decision = engine.respond(AGENT, GREETED, "Is my data encrypted?", NOW, Lookup((foreign, empty)))

    assert decision.reply == NOT_FOUND and decision.citations == ()


def test_after_a_hand_off_an_unanswered_question_waits_for_the_person() -> None:
    memory = ConversationMemory(greeted=True, turns=2, handoff_requested=True)

    decision = engine.respond(AGENT, memory, "Do you support SSO?", NOW, Lookup(()))

    assert "the person from the team picking this up" in decision.reply
    assert not decision.memory.handoff_offered


def test_citations_and_the_offer_survive_the_memory_round_trip() -> None:
    decision: TurnDecision = engine.respond(AGENT, GREETED, "Do you support SSO?", NOW, Lookup(failed=True))

    assert ConversationMemory.from_json(decision.memory.to_json()) == decision.memory


def test_a_question_asked_beside_information_is_answered_after_the_thanks() -> None:
    decision = engine.respond(AGENT, GREETED, "I'm Dana from Acme. Is my data encrypted?", NOW, Lookup((SECURITY,)))

    assert decision.intent is Intent.PROVIDE_INFO
    assert decision.lead_changes == {"name": "Dana", "company": "Acme"}
    assert decision.reply.startswith("Thanks, Dana — got your name and your company name. From our documents: All")
    assert len(decision.citations) == 1
