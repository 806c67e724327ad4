"""The funnel, latency and unanswered questions as ``domain/analytics.py`` puts them together (pure), and the
engines marking the questions they could not answer."""

from datetime import UTC, date, datetime, timedelta

import pytest

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.analytics import (
    AskedQuestion,
    FunnelCell,
    normalise_question,
    periods,
    reply_ms,
    summarise,
    top_unanswered,
)
from afo_agent_runtime.domain.engine import ConversationMemory, EmbeddedEngine
from afo_agent_runtime.domain.knowledge import Lookup, Passage
from afo_agent_runtime.domain.model_turn import ModelTurn
from afo_common.percentiles import percentile
from afo_common.rpcs.analytics import AnalyticsQuery

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # 2 March 2026 is a Monday
NOW = datetime(2026, 3, 4, 10, tzinfo=UTC)


def query(days: int = 7, granularity: str = "day", start: datetime = MONDAY) -> AnalyticsQuery:
    return AnalyticsQuery.model_validate({"tenant_id": "ten_a", "start": start, "end": start + timedelta(days=days),
                                          "granularity": granularity})


def cell(day: int, channel: str = "web", agent: str = "agt_a", conversations: int = 1, qualified: int = 0,
         booked: int = 0, handed_off: int = 0) -> FunnelCell:
    return FunnelCell(date(2026, 3, day), channel, agent, conversations, qualified, booked, handed_off)


@pytest.mark.parametrize(("text", "expected"), [
    ("Do you integrate with Salesforce?", "do you integrate with salesforce"),
    ("  do you   INTEGRATE with salesforce ?!", "do you integrate with salesforce"),
    ("What's your SLA, for \"enterprise\" plans?", "what's your sla for enterprise plans"),
    ("\uff26\uff55\uff4c\uff4c-width\uff1f", "full width"),  # full-width letters and "?"
    ("¿Hablan español?", "hablan español"),
    ("?!...", None),
    ("", None),
    (None, None),
])
def test_questions_are_normalised_so_spellings_of_one_question_count_together(text: str | None,
                                                                            expected: str | None) -> None:
    assert normalise_question(text) == expected


def test_a_normalised_question_is_bounded() -> None:
    assert len(normalise_question("why " * 100) or "") <= 200


def test_reply_latency_is_whole_milliseconds_and_never_negative() -> None:
    assert reply_ms(NOW, NOW + timedelta(milliseconds=42.6)) == 43
    assert reply_ms(NOW, NOW - timedelta(seconds=1)) == 0


def test_every_day_of_the_range_is_a_period_and_weeks_start_on_monday() -> None:
    wednesday = MONDAY + timedelta(days=2, hours=13)

    assert periods(MONDAY, MONDAY + timedelta(days=3), "day") == [date(2026, 3, 2), date(2026, 3, 3),
                                                                 date(2026, 3, 4)]
    assert periods(wednesday, wednesday + timedelta(days=10), "week") == [date(2026, 3, 2), date(2026, 3, 9)]
    # An end at midnight does not touch the day it starts.
    assert periods(MONDAY, MONDAY + timedelta(days=7), "week") == [date(2026, 3, 2)]


def test_the_funnel_sums_cells_into_periods_channels_agents_and_totals_with_empty_days_as_zeros() -> None:
    cells = [cell(2, conversations=3, qualified=2, booked=1, handed_off=1),
             cell(2, channel="sms", conversations=1, qualified=1),
             cell(4, agent="agt_b", conversations=2, handed_off=2)]

    found = summarise(query(days=5), cells, [], [], {"agt_a": "Ava", "agt_b": "Ben"})

    assert found.totals.model_dump() == {"conversations": 6, "qualified": 3, "booked": 1, "handed_off": 3}
    assert [(p.start.day, p.conversations, p.qualified, p.booked, p.handed_off) for p in found.series] == [
        (2, 4, 3, 1, 1), (3, 0, 0, 0, 0), (4, 2, 0, 0, 2), (5, 0, 0, 0, 0), (6, 0, 0, 0, 0)]
    assert [(s.key, s.label, s.conversations) for s in found.by_channel] == [("web", "web", 5), ("sms", "sms", 1)]
    assert [(s.key, s.label, s.conversations, s.handed_off) for s in found.by_agent] == [
        ("agt_a", "Ava", 4, 1), ("agt_b", "Ben", 2, 2)]


def test_weeks_gather_their_days() -> None:
    cells = [cell(2, conversations=1), cell(8, conversations=2), cell(9, conversations=5, qualified=1)]

    found = summarise(query(days=14, granularity="week"), cells, [], [], {})

    assert [(p.start, p.conversations, p.qualified) for p in found.series] == [(date(2026, 3, 2), 3, 0),
                                                                             (date(2026, 3, 9), 5, 1)]


def test_an_empty_period_is_all_zeros_and_no_percentiles() -> None:
    found = summarise(query(days=2), [], [], [], {})

    assert found.totals.conversations == 0 and [p.conversations for p in found.series] == [0, 0]
    assert found.by_channel == [] and found.by_agent == [] and found.unanswered == []
    assert found.reply_latency.model_dump() == {"count": 0, "p50_ms": None, "p95_ms": None}


def test_an_agent_without_a_name_known_is_labelled_by_its_id() -> None:
    assert summarise(query(), [cell(2, agent="agt_gone")], [], [], {}).by_agent[0].label == "agt_gone"


def test_latency_percentiles_are_nearest_rank_over_the_histogram() -> None:
    # 100 replies: 90 at 20 ms, 5 at 300 ms, 5 at 2000 ms (given in any order).
    histogram = [(2000.0, 5), (20.0, 90), (300.0, 5)]

    stats = summarise(query(), [], histogram, [], {}).reply_latency

    assert (stats.count, stats.p50_ms, stats.p95_ms) == (100, 20.0, 300.0)
    assert percentile([(7.0, 1)], 0.95) == 7.0
    assert percentile([(1.0, 1), (2.0, 1)], 0.5) == 1.0 and percentile([(1.0, 1), (2.0, 1)], 0.51) == 2.0


def test_top_unanswered_is_most_asked_first_then_latest_then_text_and_at_most_ten() -> None:
    asked = [AskedQuestion(f"q{n:02d}", 1, NOW - timedelta(hours=n)) for n in range(12)]
    asked += [AskedQuestion("do you integrate with salesforce", 4, NOW - timedelta(days=3)),
              AskedQuestion("b", 2, NOW), AskedQuestion("a", 2, NOW)]

    top = top_unanswered(asked)

    assert [q.question for q in top[:3]] == ["do you integrate with salesforce", "a", "b"]
    assert [q.question for q in top[3:]] == ["q00", "q01", "q02", "q03", "q04", "q05", "q06"]
    assert len(top) == 10


AGENT = AgentSpec.model_validate({"name": "Ava", "knowledge_base_ids": ["kb_1"]})
UNRELATED = Passage("Opening hours\nThe office is open Monday to Friday.", "Handbook", 1, "doc_1", 0.02,
                    relevance=0.05, chunk_id="chk_1", knowledge_base_id="kb_1")


def test_the_engine_marks_a_question_its_documents_do_not_answer() -> None:
    engine = EmbeddedEngine()
    memory = ConversationMemory(greeted=True)

    declined = engine.respond(AGENT, memory, "Hi! Do you integrate with Salesforce?", NOW, Lookup((UNRELATED,)))
    no_documents = engine.respond(AgentSpec(name="Ava"), memory, "Do you integrate with Salesforce?", NOW)
    failed = engine.respond(AGENT, memory, "Do you integrate with Salesforce?", NOW, Lookup(failed=True))
    answered = engine.respond(AGENT, memory, "When is the office open?", NOW, Lookup((UNRELATED,)))

    assert "couldn't find" in declined.reply and declined.unanswered == "Do you integrate with Salesforce?"
    assert no_documents.unanswered == "Do you integrate with Salesforce?"
    # A search that failed says nothing about the documents; an answer quoted is no gap.
    assert failed.unanswered is None and answered.citations and answered.unanswered is None


def test_a_model_that_searched_and_cites_nothing_leaves_the_question_unanswered() -> None:
    searched = ModelTurn(AGENT, ConversationMemory(), "Do you integrate with Salesforce?", NOW)
    searched.search_result([])
    quoted = ModelTurn(AGENT, ConversationMemory(), "When are you open?", NOW)
    quoted.search_result([UNRELATED])
    chatted = ModelTurn(AGENT, ConversationMemory(), "Hello!", NOW)

    assert searched.decision("I couldn't find that.").unanswered == "Do you integrate with Salesforce?"
    assert quoted.decision("Monday to Friday [1].").unanswered is None
    assert chatted.decision("Hi, how can I help?").unanswered is None
