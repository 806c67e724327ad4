"""Accuracy and CPU cost of the embedded engine on labelled lead messages (bench/data/lead_utterances.jsonl).

    uv run python -m bench.extraction [--split dev|test|all] [--errors]

Each line is one lead message, optionally with the field the engine has just asked for (`awaiting`) and
agent settings (`agent`: phone_region, timezone), the field values the engine should store (`expect`, by
field name; a list gives the acceptable spellings) and the intent it should see. The message goes through
`EmbeddedEngine.respond` exactly as a turn does (domain code, no services), from a memory that has greeted
the lead and awaits that field. Prints, per split: precision and recall per field kind, intent accuracy,
and the CPU time of one turn (p50/p95 over the messages, each the median of several runs)."""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from afo_agent_runtime.domain.agent import AgentSpec, FieldKind, QualificationField
from afo_agent_runtime.domain.engine import ConversationMemory, EmbeddedEngine

DATA = Path(__file__).parent / "data" / "lead_utterances.jsonl"
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("America/New_York"))
FIELDS = [
    QualificationField(name="name", kind="name"),
    QualificationField(name="email", kind="email"),
    QualificationField(name="phone", kind="phone", required=False),
    QualificationField(name="company", kind="company"),
    QualificationField(name="need", kind="need"),
    QualificationField(name="budget", kind="budget"),
    QualificationField(name="timeline", kind="timeline"),
    QualificationField(name="team_size", kind="text", required=False, question="How many people are on your team?"),
]
KIND_OF = {f.name: f.kind for f in FIELDS}
KINDS: tuple[FieldKind, ...] = ("name", "email", "phone", "company", "need", "budget", "timeline", "text")
RUNS = 5
# A need is free text: it matches when its content words mostly agree ("a chatbot for our site" and
# "chatbot for our website" do not need to be equal strings).
NEED_F1 = 0.6
_STOP_WORDS = frozenset(
    {"a", "an", "the", "some", "our", "my", "your", "their", "its", "this", "that", "for", "to", "of", "with"}
    | {"and", "or", "in", "on", "at", "by", "from", "we", "i", "it", "is", "be"}
)


@dataclass(frozen=True)
class Utterance:
    id: str
    split: str
    text: str
    awaiting: str | None
    agent: dict[str, str]
    expect: dict[str, list[str]]
    intent: str


@dataclass
class Score:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    intents_right: int = 0
    cpu_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load(path: Path = DATA) -> list[Utterance]:
    utterances = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row: dict[str, Any] = json.loads(line)
        expect = {name: value if isinstance(value, list) else [value] for name, value in row["expect"].items()}
        unknown = set(expect) - set(KIND_OF)
        if unknown:
            raise ValueError(f"{row['id']}: no field named {', '.join(sorted(unknown))}")
        utterances.append(
            Utterance(
                row["id"], row["split"], row["text"], row.get("awaiting"), row.get("agent", {}), expect, row["intent"]
            )
        )
    return utterances


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP_WORDS}


def matches(kind: FieldKind, got: str, wanted: Iterable[str]) -> bool:
    if kind != "need":
        return any(got.casefold() == w.casefold() for w in wanted)
    for want in wanted:
        g, w = _content_words(got), _content_words(want)
        common = len(g & w)
        if common and 2 * common / (len(g) + len(w)) >= NEED_F1:
            return True
    return False


def _agent(overrides: dict[str, str], cache: dict[tuple[tuple[str, str], ...], AgentSpec]) -> AgentSpec:
    key = tuple(sorted(overrides.items()))
    if key not in cache:
        cache[key] = AgentSpec.model_validate(
            {"name": "Ava", "timezone": "America/New_York", "qualification_fields": FIELDS} | overrides
        )
    return cache[key]


def evaluate(utterances: Sequence[Utterance], engine: EmbeddedEngine) -> Score:
    score = Score()
    agents: dict[tuple[tuple[str, str], ...], AgentSpec] = {}
    for u in utterances:
        agent = _agent(u.agent, agents)
        memory = ConversationMemory(greeted=True, turns=1, awaiting_field=u.awaiting)
        engine.respond(agent, memory, u.text, NOW)  # warm-up: caches, and a model's first load if any
        runs = []
        for _ in range(RUNS):
            start = time.process_time_ns()
            decision = engine.respond(agent, memory, u.text, NOW)
            runs.append((time.process_time_ns() - start) / 1e6)
        score.cpu_ms.append(statistics.median(runs))
        got = decision.lead_changes
        if decision.intent.value == u.intent:
            score.intents_right += 1
        else:
            score.errors.append(f"{u.id} intent {decision.intent.value} != {u.intent}: {u.text!r}")
        for name in sorted(set(got) | set(u.expect)):
            kind = KIND_OF[name]
            if name in got and name in u.expect and matches(kind, got[name], u.expect[name]):
                score.tp[kind] += 1
                continue
            if name in got:
                score.fp[kind] += 1
            if name in u.expect:
                score.fn[kind] += 1
            score.errors.append(f"{u.id} {name}: got {got.get(name)!r}, want {u.expect.get(name)!r}: {u.text!r}")
    return score


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.2f}" if den else "  - "


def table(split: str, utterances: Sequence[Utterance], score: Score) -> str:
    lines = [f"{split}: {len(utterances)} messages", "  kind      found  wanted  precision  recall"]
    all_tp = all_fp = all_fn = 0
    for kind in KINDS:
        tp, fp, fn = score.tp[kind], score.fp[kind], score.fn[kind]
        all_tp, all_fp, all_fn = all_tp + tp, all_fp + fp, all_fn + fn
        lines.append(f"  {kind:<9} {tp + fp:>5}  {tp + fn:>6}  {_ratio(tp, tp + fp):>9}  {_ratio(tp, tp + fn):>6}")
    lines.append(
        f"  {'all':<9} {all_tp + all_fp:>5}  {all_tp + all_fn:>6}  "
        f"{_ratio(all_tp, all_tp + all_fp):>9}  {_ratio(all_tp, all_tp + all_fn):>6}"
    )
    lines.append(f"  intent accuracy {_ratio(score.intents_right, len(utterances))}")
    q = statistics.quantiles(score.cpu_ms, n=100, method="inclusive")
    lines.append(f"  CPU ms per turn  p50 {q[49]:.3f}  p95 {q[94]:.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--errors", action="store_true", help="list every miss (use on dev only while tuning)")
    args = parser.parse_args()
    utterances = load()
    engine = EmbeddedEngine()
    splits = ("dev", "test") if args.split == "all" else (args.split,)
    for split in splits:
        part = [u for u in utterances if u.split == split]
        score = evaluate(part, engine)
        print(table(split, part, score))
        if args.errors:
            print("\n".join(f"    {e}" for e in score.errors))


if __name__ == "__main__":
    main()
