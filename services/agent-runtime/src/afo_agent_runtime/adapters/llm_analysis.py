"""A finished conversation analysed by the agent's OpenAI-compatible model, as structured output: the
model is given the transcript, the recorded facts and outcome, and asked for ``AnalysisResult``'s JSON
schema. Its answer is validated by that schema; an answer that does not validate, a refusal or a provider
failure gives None, and the embedded analysis stands. The outcome and facts stay the recorded ones (a model
may not invent a booking or a field); the model writes the summary and the next step."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from pydantic import ValidationError

from afo_agent_runtime.adapters.openai_chat import ChatProviderError, OpenAIChatClient
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.analysis import AnalysisResult, Said

log = logging.getLogger(__name__)

TRANSCRIPT_CHARS = 24_000
_INSTRUCTIONS = (
    "You analyse a finished conversation between a business's assistant and a lead. Answer only with JSON "
    "following the schema: summary (two or three sentences on what the lead wants and what was agreed), "
    "outcome, facts, next_step (one sentence for the team). Use only what the conversation says. Keep the "
    "outcome and facts given below unchanged."
)


def _schema() -> dict[str, object]:
    schema = AnalysisResult.model_json_schema()
    schema["additionalProperties"] = False
    return schema


class LlmAnalyzer:
    def __init__(self, client: OpenAIChatClient, model: str) -> None:
        self._client = client
        self._model = model

    async def analyze(self, agent: AgentSpec, said: Sequence[Said], recorded: AnalysisResult) -> AnalysisResult | None:
        transcript = "\n".join(f"{'Lead' if s.role == 'user' else agent.name}: {s.text}" for s in said)
        context = json.dumps({"outcome": recorded.outcome, "facts": recorded.facts})
        messages = [
            {"role": "system", "content": _INSTRUCTIONS},
            {"role": "user", "content": f"Recorded: {context}\n\nConversation:\n{transcript[-TRANSCRIPT_CHARS:]}"},
        ]
        try:
            text = await self._client.complete_json(model=self._model, messages=messages,
                                                    schema_name="conversation_analysis", schema=_schema())
        except ChatProviderError as exc:
            log.warning("analysis by the model failed (%s); the embedded analysis stands", exc)
            return None
        if text is None:
            log.warning("the model refused the analysis; the embedded analysis stands")
            return None
        try:
            answer = AnalysisResult.model_validate_json(text)
        except ValidationError as exc:
            log.warning("the model's analysis does not match the schema (%d errors); the embedded analysis "
                        "stands", exc.error_count())
            return None
        return recorded.model_copy(update={"summary": answer.summary, "next_step": answer.next_step})
