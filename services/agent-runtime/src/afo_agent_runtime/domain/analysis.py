"""What a finished conversation came to: a summary, the outcome, the key facts and the next step.

The embedded analysis is extractive and reads only what the conversation recorded:
- the summary is made of the lead's own sentences — at most ``SUMMARY_SENTENCES``, in the order said —
  chosen for the details they gave (a sentence holding a recorded field value scores most), then for their
  content words; greetings and one-word answers are left out;
- the outcome: ``not_interested`` once the lead opted out, else ``booked`` with a meeting booked, else
  ``handoff`` once a person was asked for, else ``qualified`` when every required field is known, else
  ``lost``;
- the facts are the lead's fields as recorded (the meeting's id and start among them);
- the next step follows from the outcome.

A language model's analysis must come back as ``AnalysisResult`` (a JSON schema it is asked to follow);
anything else is refused and the embedded analysis stands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine.intents import Intent, classify
from afo_agent_runtime.domain.engine.replies import describe_start
from afo_agent_runtime.domain.engine.sentences import content_words, split_sentences, trim
from afo_agent_runtime.domain.turn import ConversationMemory

Outcome = Literal["qualified", "booked", "handoff", "not_interested", "lost"]
SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 2000
NEXT_STEP_CHARS = 500
_MIN_WORDS = 3


class AnalysisResult(BaseModel):
    """The analysis as stored and emitted, and the schema a model's answer must match."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=SUMMARY_CHARS)
    outcome: Outcome
    facts: dict[str, str]
    next_step: str | None = Field(default=None, max_length=NEXT_STEP_CHARS)


@dataclass(frozen=True)
class Said:
    role: Literal["user", "assistant"]
    text: str


def outcome_of(agent: AgentSpec, memory: ConversationMemory) -> Outcome:
    if memory.opted_out:
        return "not_interested"
    if memory.meeting_id is not None:
        return "booked"
    if memory.handoff_requested:
        return "handoff"
    missing = [f.name for f in agent.qualification_fields if f.required and f.name not in memory.lead]
    return "qualified" if memory.qualified or not missing else "lost"


def next_step(agent: AgentSpec, memory: ConversationMemory, outcome: Outcome) -> str | None:
    if outcome == "not_interested":
        return None
    if outcome == "booked" and memory.booked_start:
        start = datetime.fromisoformat(memory.booked_start).astimezone(agent.tz())
        return f"Hold the meeting on {describe_start(start)} ({agent.timezone})."
    if outcome == "handoff":
        return "A teammate follows up: the lead asked for a person."
    if outcome == "qualified":
        return "Offer the lead a meeting."
    missing = [f.label or f.name for f in agent.qualification_fields if f.required and f.name not in memory.lead]
    return f"Follow up for what is missing: {', '.join(missing)}." if missing else "Follow up with the lead."


def summarize(said: Sequence[Said], facts: dict[str, str]) -> str:
    """The lead's most informative sentences, in the order said."""
    values = [v.lower() for v in facts.values() if len(v) >= 2]
    scored: list[tuple[float, int, str]] = []
    position = 0
    for line in said:
        if line.role != "user":
            continue
        for sentence in split_sentences(line.text):
            position += 1
            words = sentence.split()
            if len(words) < _MIN_WORDS or classify(sentence).intent is Intent.GREETING:
                continue
            lowered = sentence.lower()
            score = 2.0 * sum(value in lowered for value in values) + 0.1 * len(content_words(sentence))
            scored.append((score, position, sentence.strip()))
    chosen = sorted(sorted(scored, key=lambda s: (-s[0], s[1]))[:SUMMARY_SENTENCES], key=lambda s: s[1])
    # Chat messages often end without a full stop: without one the sentences would run into each other.
    summary = " ".join(text if text[-1] in ".!?" else f"{text}." for _, _, text in chosen)
    return trim(summary, SUMMARY_CHARS) if summary else "The lead gave no details."


def analyze(agent: AgentSpec, memory: ConversationMemory, said: Sequence[Said]) -> AnalysisResult:
    facts = dict(memory.lead)
    outcome = outcome_of(agent, memory)
    return AnalysisResult(summary=summarize(said, facts), outcome=outcome, facts=facts,
                          next_step=next_step(agent, memory, outcome))
