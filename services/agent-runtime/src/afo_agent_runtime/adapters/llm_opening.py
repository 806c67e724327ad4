"""The opening message to a lead from an inbound source, written by the agent's OpenAI-compatible model as
structured output (``{"message": …}``): the model is given the agent's persona and greeting, what the lead sent,
and the question to end on. An answer that is not the schema, empty, longer than an SMS thread should be, a
refusal or a provider failure gives None, and the embedded opening stands."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from pydantic import BaseModel, Field, ValidationError

from afo_agent_runtime.adapters.openai_chat import ChatProviderError, OpenAIChatClient
from afo_agent_runtime.domain.agent import AgentSpec

log = logging.getLogger(__name__)

_INSTRUCTIONS = (
    "You are {name}, {role}. Persona: {persona}. A lead just filled in a form on the business's website and you "
    "write to them first, by text message. Answer only with JSON following the schema: message (at most three "
    "short sentences: greet them by first name if known, refer to what they wrote if anything, and end with the "
    "question given). Do not invent facts, prices or availability."
)


class _Opening(BaseModel):
    message: str = Field(min_length=1, max_length=600)


def _schema() -> dict[str, object]:
    return {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"],
            "additionalProperties": False}


class LlmOpener:
    def __init__(self, client: OpenAIChatClient, model: str) -> None:
        self._client = client
        self._model = model

    async def compose(self, agent: AgentSpec, details: Mapping[str, str], message: str | None,
                      question: str | None) -> str | None:
        system = _INSTRUCTIONS.format(name=agent.name, role=agent.role or "an assistant",
                                      persona=agent.persona or "friendly and concise")
        lead = json.dumps({"details": dict(details), "message": message or "", "greeting": agent.greeting or "",
                           "question_to_end_on": question or "How can I help?"})
        messages = [{"role": "system", "content": system}, {"role": "user", "content": lead}]
        try:
            text = await self._client.complete_json(model=self._model, messages=messages, schema_name="opening",
                                                    schema=_schema())
        except ChatProviderError as exc:
            log.warning("the model did not write the opening (%s); the embedded one is sent", exc)
            return None
        if text is None:
            return None
        try:
            return _Opening.model_validate_json(text).message.strip() or None
        except ValidationError:
            log.warning("the model's opening does not match the schema; the embedded one is sent")
            return None
