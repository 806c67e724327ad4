import pytest

from afo_agent_runtime.domain.engine.intents import Intent, classify


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi", Intent.GREETING),
        ("Hello there!", Intent.GREETING),
        ("hey team", Intent.GREETING),
        ("Good morning", Intent.GREETING),
        ("hi, how are you?", Intent.GREETING),
        ("STOP", Intent.OPT_OUT),
        ("stop.", Intent.OPT_OUT),
        ("Unsubscribe", Intent.OPT_OUT),
        ("stop texting me", Intent.OPT_OUT),
        ("Please STOP messaging me!!", Intent.OPT_OUT),
        ("opt out", Intent.OPT_OUT),
        ("I want to opt-out", Intent.OPT_OUT),
        ("remove me from your list", Intent.OPT_OUT),
        ("can I talk to a person?", Intent.HUMAN),
        ("Can I speak with a human", Intent.HUMAN),
        ("I'd like to talk to a real agent", Intent.HUMAN),
        ("Could I chat with a representative please", Intent.HUMAN),
        ("I need to talk to a human", Intent.HUMAN),
        ("are you a bot", Intent.HUMAN),
        ("how much does it cost", Intent.PRICING),
        ("Pricing?", Intent.PRICING),
        ("what's the price", Intent.PRICING),
        ("What's the price for 10 seats?", Intent.PRICING),
        ("can we meet next Tuesday at 3pm", Intent.SCHEDULING),
        ("Book a demo", Intent.SCHEDULING),
        ("schedule a call", Intent.SCHEDULING),
        ("Tuesday at 3pm works", Intent.SCHEDULING),
        ("are you available tomorrow at 10?", Intent.SCHEDULING),
        ("what integrations do you support?", Intent.QUESTION),
        ("Does it work with HubSpot", Intent.QUESTION),
        ("is there an API", Intent.QUESTION),
        ("you support Slack?", Intent.QUESTION),
        ("my email is x@y.com", Intent.PROVIDE_INFO),
        ("dana@acme.io", Intent.PROVIDE_INFO),
        ("Hi, I'm Dana from Acme", Intent.PROVIDE_INFO),
        ("I work at Globex", Intent.PROVIDE_INFO),
        ("we need a chatbot for our website", Intent.PROVIDE_INFO),
        ("budget about 20k", Intent.PROVIDE_INFO),
        ("around $15k", Intent.PROVIDE_INFO),
        ("ok", Intent.OTHER),
        ("Acme", Intent.OTHER),
        ("", Intent.OTHER),
    ],
)
def test_each_message_gets_its_main_intent(text: str, intent: Intent) -> None:
    assert classify(text).intent is intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("we have 40 people in two offices", Intent.PROVIDE_INFO),
        ("I saw your ad on LinkedIn", Intent.PROVIDE_INFO),
        ("I'm not sure yet", Intent.OTHER),
        ("I need to check with my partner", Intent.OTHER),
        ("I'd rather not share my budget", Intent.OTHER),
        ("is this an AI?", Intent.HUMAN),
        ("can I speak to your sales team", Intent.HUMAN),
        ("do you have an annual plan?", Intent.PRICING),
        ("we plan to launch in the spring", Intent.PROVIDE_INFO),
        ("we need a demo", Intent.SCHEDULING),
        ("call me on +34 612 345 678", Intent.PROVIDE_INFO),
        ("we miss calls on weekends", Intent.PROVIDE_INFO),
        ("after-hours call answering", Intent.OTHER),
    ],
)
def test_statements_shrugs_and_lookalikes(text: str, intent: Intent) -> None:
    assert classify(text).intent is intent


@pytest.mark.parametrize(
    "text",
    [
        "don't stop",
        "when does it stop?",
        "please don't stop texting me, this is useful",
        "we want to stop losing leads at night",
        "what happens if I cancel my plan?",
        "the bus stop is near our office",
    ],
)
def test_the_word_stop_or_cancel_in_a_sentence_is_not_an_opt_out(text: str) -> None:
    assert classify(text).intent is not Intent.OPT_OUT


def test_scores_cover_every_intent_and_the_confidence_is_the_winning_score() -> None:
    result = classify("Can we book a demo next Friday at noon?")

    assert set(result.scores) == set(Intent)
    assert all(0.0 <= score <= 1.0 for score in result.scores.values())
    assert result.intent is Intent.SCHEDULING
    assert result.confidence == result.scores[Intent.SCHEDULING] == max(result.scores.values())


def test_classification_is_deterministic() -> None:
    text = "Hi! What's the price, and can I talk to someone tomorrow?"

    assert len({repr(classify(text)) for _ in range(5)}) == 1


def test_a_message_with_no_signal_is_other_with_low_confidence() -> None:
    result = classify("lorem ipsum dolor")

    assert result.intent is Intent.OTHER
    assert result.confidence < 0.5
