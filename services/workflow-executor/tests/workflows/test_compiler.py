"""The embedded compiler on the written instruction set (bench/data/workflow_instructions.jsonl), and what it
reports when it refuses: every word it did not understand, where it stands in the text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from afo_common.rpcs.workflow_executor_workflows import WorkflowSpec
from afo_workflow_executor.domain.workflows_compiler import Refused, compile_instruction

SET = Path(__file__).resolve().parents[4] / "bench" / "data" / "workflow_instructions.jsonl"
# The figures reached when this test was written (bench/workflows.py prints them): they may rise, not fall.
EXACT_AT_LEAST = 78
REFUSED_WORDS_AT_LEAST = 11


def cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SET.read_text().splitlines() if line.strip()]


def test_the_set_is_big_enough_and_has_refusals() -> None:
    written = cases()
    assert len(written) >= 50 and sum("refuse" in c for c in written) >= 8


def test_exact_match_and_refusals_on_the_written_set() -> None:
    exact = refused_right = refused = 0
    for case in cases():
        got = compile_instruction(case["instruction"])
        if "expect" in case:
            want = WorkflowSpec.model_validate(case["expect"]).model_dump()
            exact += not isinstance(got, Refused) and got.model_dump() == want
        else:
            refused += isinstance(got, Refused)
            refused_right += isinstance(got, Refused) and [w.lower() for w in got.words()] == case["refuse"]
    assert exact >= EXACT_AT_LEAST
    assert refused == sum("refuse" in c for c in cases())  # every one that must be refused is
    assert refused_right >= REFUSED_WORDS_AT_LEAST


def test_the_example_of_the_issue() -> None:
    spec = compile_instruction("when a lead is qualified with budget over 10k, book a demo on the sales "
                               "calendar and text me")
    assert isinstance(spec, WorkflowSpec)
    assert spec.model_dump(exclude_none=True) == {
        "trigger": "lead.qualified",
        "conditions": [{"field": "lead.budget", "op": "gt", "value": 10000}],
        "actions": [{"type": "book_meeting", "title": "demo", "calendar": "sales"}, {"type": "send_sms", "to": "me"}]}


@pytest.mark.parametrize(("text", "value"), [("10k", 10000), ("$10,000", 10000), ("10 thousand", 10000),
                                             ("1.5m", 1500000), ("$25K", 25000), ("2000 dollars", 2000)])
def test_amounts(text: str, value: int) -> None:
    spec = compile_instruction(f"when a lead is qualified with budget over {text}, text me")
    assert isinstance(spec, WorkflowSpec) and spec.conditions[0].value == value


@pytest.mark.parametrize(("text", "seconds"), [("1 hour", 3600), ("an hour", 3600), ("30 minutes", 1800),
                                               ("2 days", 172800), ("half an hour", 1800), ("1 week", 604800)])
def test_durations(text: str, seconds: int) -> None:
    spec = compile_instruction(f"when a meeting is booked, wait {text} then email the lead")
    assert isinstance(spec, WorkflowSpec) and spec.actions[0].model_dump() == {"type": "wait", "seconds": seconds}


def test_unrecognized_words_come_with_their_place() -> None:
    text = "when a lead is qualified, order a pizza and text me"
    refused = compile_instruction(text)
    assert isinstance(refused, Refused)
    assert [(u.word, text[u.start:u.end]) for u in refused.unrecognized] == [("order", "order"), ("pizza", "pizza")]
    assert refused.missing == ()  # the text action was understood: only the words are wrong


def test_missing_parts_are_named() -> None:
    assert compile_instruction("") == Refused((), ("trigger", "action"))
    assert compile_instruction("text me") == Refused((), ("trigger",))
    assert compile_instruction("when a lead is qualified") == Refused((), ("action",))
    only_wait = compile_instruction("when a lead is qualified, wait 1 hour")
    assert isinstance(only_wait, Refused) and "besides waiting" in only_wait.missing[0]


def test_a_comparison_without_a_number_is_refused() -> None:
    refused = compile_instruction("when a lead is qualified with budget over, text me")
    assert isinstance(refused, Refused) and refused.words() == ["over"]


def test_an_email_with_its_subject_and_text() -> None:
    spec = compile_instruction('when a meeting is booked, email the lead saying "hi" with subject "Hello"')
    assert isinstance(spec, WorkflowSpec)
    assert spec.actions[0].model_dump() == {"type": "send_email", "to": "lead", "subject": "Hello", "body": "hi"}


def test_deterministic() -> None:
    text = "when a meeting is booked, wait 2 days, then text the lead saying \"see you soon\""
    assert compile_instruction(text) == compile_instruction(text)
