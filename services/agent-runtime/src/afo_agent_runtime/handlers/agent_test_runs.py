"""Playing an agent's tests: each test's turns, in order, through the same decision a real conversation's turn
goes through (``TurnDecider``: the embedded engine or the agent's model, the tenant's documents searched for
real), against the configuration given (the agent's current draft).

In isolation: the memory lives in this process for the length of the test, and nothing is written or sent —
no conversation, message or lead row, no event, no real-time notice. A meeting the engine decides to ask for is
recorded in the transcript and not asked of the calendar; a hand-off reaches no one.

A ``voice`` test's turns are first spoken and recognised (``Hearing``: voice-media speaks them with its offline
voice and the agent's recogniser hears them, as a caller's words would be heard), and the engine answers as on
a call. Tests run a few at a time; one
still playing when the run's time is up fails, keeping the turns it got through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from afo_agent_runtime.adapters.llm_engine import HistoryTurn
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.agent_tests import Played, evaluate
from afo_agent_runtime.domain.engine import ConversationMemory
from afo_agent_runtime.domain.hearing import Hearing, NoHearing, SpeechUnavailable
from afo_agent_runtime.handlers.deciding import TurnDecider
from afo_common.clock import Clock
from afo_common.rpcs.agent_tests import AgentTestResult, AgentTestView, TranscriptTurn

log = logging.getLogger(__name__)

RUN_TIMEOUT_S = 60.0
CONCURRENT_TESTS = 4


@dataclass
class _Progress:
    """How far a test got: kept when the run's time runs out in the middle of it."""

    test: AgentTestView
    transcript: list[TranscriptTurn] = field(default_factory=list)
    memory: ConversationMemory = field(default_factory=ConversationMemory)


class AgentTestRunner:
    def __init__(self, decider: TurnDecider, clock: Clock, hearing: Hearing | None = None,
                 timeout_s: float = RUN_TIMEOUT_S, concurrency: int = CONCURRENT_TESTS) -> None:
        self._decider = decider
        self._clock = clock
        self._hearing = hearing or NoHearing()
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(concurrency)

    async def run(self, tenant_id: str, spec: AgentSpec, tests: Sequence[AgentTestView]) -> list[AgentTestResult]:
        """Every test's result, in the order given."""
        progress = [_Progress(test) for test in tests]
        tasks = [asyncio.create_task(self._play(tenant_id, spec, p)) for p in progress]
        if not tasks:
            return []
        _, pending = await asyncio.wait(tasks, timeout=self._timeout_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        results = []
        for p, task in zip(progress, tasks, strict=True):
            error: str | None
            if task in pending:
                error = f"the run's time limit ({self._timeout_s:g} s) ran out before this test finished"
            elif (exc := task.exception()) is not None:
                log.error("agent test %s of tenant %s failed to play", p.test.id, tenant_id, exc_info=exc)
                error = f"the test could not be played: {type(exc).__name__}"
            else:
                error = task.result()
            results.append(_result(spec, p, error))
        return results

    async def _play(self, tenant_id: str, spec: AgentSpec, progress: _Progress) -> str | None:
        """Plays the test into ``progress``; the reason it could not be played to its end, or None."""
        test = progress.test
        spoken = test.channel == "voice"
        async with self._slots:
            said = list(test.turns)
            if spoken:
                try:
                    said = await self._hearing.heard(tenant_id, spec, test.turns)
                except SpeechUnavailable as exc:
                    return f"the turns could not be spoken and recognised: {exc}"
            history: list[HistoryTurn] = []
            for typed, heard in zip(test.turns, said, strict=True):
                produced = await self._decider.decide(tenant_id, spec, progress.memory, heard, self._clock.now(),
                                                      spoken=spoken, history=history, about=f"agent test {test.id}")
                decision = produced.decision
                progress.transcript.append(TranscriptTurn(
                    user=typed, heard=heard if spoken else None, reply=decision.reply, intent=decision.intent.value,
                    engine=produced.engine, citations=list(decision.citations), lead_changes=decision.lead_changes,
                    meeting_requested_at=decision.meeting_request.start if decision.meeting_request else None,
                    handoff=decision.handoff_reason is not None, handoff_offered=decision.memory.handoff_offered,
                    opted_out=decision.opted_out, awaiting_field=decision.memory.awaiting_field))
                progress.memory = decision.memory
                history += [HistoryTurn("user", heard), HistoryTurn("assistant", decision.reply)]
        return None


def _result(spec: AgentSpec, progress: _Progress, error: str | None) -> AgentTestResult:
    test = progress.test
    played = Played(progress.transcript, progress.memory.lead, frozenset(f.name for f in spec.qualification_fields))
    verdicts = evaluate(test.expectations, played)
    return AgentTestResult(test_id=test.id, name=test.name, channel=test.channel,
                           passed=error is None and all(v.passed for v in verdicts),
                           transcript=progress.transcript, expectations=verdicts, lead=dict(progress.memory.lead),
                           error=error)
