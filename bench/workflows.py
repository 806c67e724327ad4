"""Benchmark of the embedded workflow compiler on the written instruction set
(``bench/data/workflow_instructions.jsonl``: each instruction with the steps it must compile to, or the words it
must be refused for).

    uv run python -m bench.workflows [--repeat 20] [--misses]

Prints the exact-match rate (the compiled ``WorkflowSpec`` equal to the expected one, defaults filled), the
refusals (refused at all, and refused with exactly the expected unrecognized words), and the compile time per
instruction (p50/p95 over ``--repeat`` passes of the whole set). ``--misses`` lists what did not match."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from afo_common.rpcs.workflow_executor_workflows import WorkflowSpec
from afo_workflow_executor.domain.workflows_compiler import Refused, compile_instruction

SET = Path(__file__).resolve().parent / "data" / "workflow_instructions.jsonl"


def load(path: Path = SET) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def score(cases: list[dict[str, Any]]) -> tuple[dict[str, int], list[str]]:
    counts = {"compile": 0, "exact": 0, "refuse": 0, "refused": 0, "refused_words": 0}
    misses: list[str] = []
    for case in cases:
        got = compile_instruction(case["instruction"])
        if "expect" in case:
            counts["compile"] += 1
            want = WorkflowSpec.model_validate(case["expect"]).model_dump()
            if not isinstance(got, Refused) and got.model_dump() == want:
                counts["exact"] += 1
            else:
                misses.append(f"MISS    {case['instruction']!r}\n        got {got}")
        else:
            counts["refuse"] += 1
            words = [w.lower() for w in got.words()] if isinstance(got, Refused) else None
            counts["refused"] += isinstance(got, Refused)
            counts["refused_words"] += words == case["refuse"]
            if words != case["refuse"]:
                misses.append(f"REFUSAL {case['instruction']!r}\n        got {words}, expected {case['refuse']}")
    return counts, misses


def timings(cases: list[dict[str, Any]], repeat: int) -> list[float]:
    took: list[float] = []
    for _ in range(repeat):
        for case in cases:
            start = time.perf_counter()
            compile_instruction(case["instruction"])
            took.append((time.perf_counter() - start) * 1000)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    cases = load()
    counts, misses = score(cases)
    took = sorted(timings(cases, args.repeat))
    p95 = took[int(len(took) * 0.95) - 1]
    print(f"{len(cases)} instructions ({counts['compile']} to compile, {counts['refuse']} to refuse)")
    print(f"{'measure':<36}{'value':>16}")
    print(f"{'exact match':<36}{counts['exact']:>7}/{counts['compile']:<3} {counts['exact'] / counts['compile']:>5.1%}")
    print(f"{'refused':<36}{counts['refused']:>7}/{counts['refuse']:<3} {counts['refused'] / counts['refuse']:>5.1%}")
    print(f"{'refused with the expected words':<36}{counts['refused_words']:>7}/{counts['refuse']:<3} "
          f"{counts['refused_words'] / counts['refuse']:>5.1%}")
    print(f"{'compile time p50 (ms)':<36}{statistics.median(took):>16.3f}")
    print(f"{'compile time p95 (ms)':<36}{p95:>16.3f}")
    if args.misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()
