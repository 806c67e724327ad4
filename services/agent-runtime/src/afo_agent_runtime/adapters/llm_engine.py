"""A chat-completions model acting through tools: the provider's side of an LLM turn — the prompt, the tool
schemas, the rounds of streamed calls. What the tools do and the decision they lead to are the domain's
(``domain.model_turn``), the same transition as the embedded engine's."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from afo_agent_runtime.adapters.openai_chat import (
    ChatProviderError,
    ContentDelta,
    OpenAIChatClient,
    ToolCall,
    assistant_tool_calls_message,
    tool_result_message,
)
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.knowledge import KnowledgeSearch, KnowledgeUnavailable
from afo_agent_runtime.domain.model_turn import ModelTurn
from afo_agent_runtime.domain.turn import ConversationMemory, TurnDecision

log = logging.getLogger(__name__)

_TOP_K = 4


@dataclass(frozen=True)
class HistoryTurn:
    role: Literal["user", "assistant"]
    text: str


DeltaSink = Callable[[str], Awaitable[None]]


def _tool(name: str, description: str, *optional: str, **properties: Any) -> dict[str, Any]:
    required = [p for p in properties if p not in optional]
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


_TEXT = {"type": "string"}
_SEARCH = _tool("search_knowledge", "Search the business's documents for facts about it.", query=_TEXT)
_FIELDS = {"type": "object", "additionalProperties": _TEXT}
_UPDATE_LEAD = _tool("update_lead", "Record details the lead gave, keyed by field name.", fields=_FIELDS)
_REQUEST_MEETING = _tool(
    "request_meeting",
    "Ask to meet at the time the lead proposed or picked among the offered ones (moves a booked meeting).",
    "note", when=_TEXT, note=_TEXT,
)
_CANCEL_MEETING = _tool("cancel_meeting", "Cancel the lead's booked meeting, when they ask to.")
_HANDOFF = _tool("handoff", "Hand the conversation to a human teammate.", reason=_TEXT)


@dataclass
class _ToolRun:
    """One turn's tool calls: what they did (the domain's ModelTurn) and for which tenant."""

    turn: ModelTurn
    tenant_id: str


def _system_prompt(agent: AgentSpec, memory: ConversationMemory, now: datetime,
                   meetings: str | None = None) -> str:
    local = now.astimezone(agent.tz())
    lines = [f"You are {agent.name}, {agent.role}.", agent.persona]
    if agent.goals:
        lines += ["", "Your goals:", *(f"- {goal}" for goal in agent.goals)]
    if agent.qualification_fields:
        lines += ["", "Details to collect from the lead (field name: status):"]
        for f in agent.qualification_fields:
            label = f.label or f.name
            need = "required" if f.required else "optional"
            known = memory.lead.get(f.name)
            status = f"known: {known}" if known else f"missing, ask e.g. {f.question!r}" if f.question else "missing"
            lines.append(f"- {f.name} ({label}, {f.kind}, {need}): {status}")
        lines.append("Record every detail the lead gives with update_lead; ask for one or two at a time.")
    if agent.greeting and not memory.greeted:
        lines += ["", f"This is the start of the conversation; open with this greeting: {agent.greeting}"]
    if memory.handoff_requested:
        lines += ["", "A teammate has been asked to take over; do not ask for more details."]
    elif memory.qualified:
        lines += ["", "The lead is qualified; offer to book a meeting if none is arranged yet."]
    lines += [
        "",
        f"The business's time zone is {agent.timezone}; it is now {local:%A %d %B %Y, %H:%M} there.",
        "Call tools rather than inventing facts. Answer questions about the business from search_knowledge "
        "and cite the passages you use as [1], [2] by their numbers; if they do not answer the question, say "
        "you don't know rather than guessing, and offer to connect the lead with someone from the team.",
        "When the lead proposes a meeting time, call request_meeting. Call handoff when they ask for a "
        "human or you cannot help. Keep replies short and conversational.",
    ]
    if meetings:
        lines += ["", meetings]
    return "\n".join(lines)


class LlmEngine:
    def __init__(self, client: OpenAIChatClient, knowledge: KnowledgeSearch, *, max_tool_rounds: int = 4) -> None:
        self._client = client
        self._knowledge = knowledge
        self._max_tool_rounds = max_tool_rounds

    async def respond(
        self,
        *,
        tenant_id: str,
        agent: AgentSpec,
        memory: ConversationMemory,
        history: Sequence[HistoryTurn],
        text: str,
        now: datetime,
        on_delta: DeltaSink,
    ) -> TurnDecision:
        """Runs the model and its tools until it answers in words (tool rounds capped).

        ChatProviderError propagates even after deltas reached `on_delta` (from an earlier round or a stream
        that broke), so a caller that falls back to another engine must allow for text the lead already saw.
        """
        if not agent.llm.model:
            raise ChatProviderError("the agent has no LLM model configured", status=None, retryable=False)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        run = _ToolRun(ModelTurn(agent=agent, memory=memory, text=text, now=now), tenant_id)
        tools = [_UPDATE_LEAD, _REQUEST_MEETING, _HANDOFF]
        if memory.meeting_id is not None:
            tools.append(_CANCEL_MEETING)
        if agent.knowledge_base_ids:
            tools.insert(0, _SEARCH)
        messages: list[dict[str, Any]] = [{"role": "system", "content": _system_prompt(
            agent, memory, now, run.turn.context())}]
        messages += [{"role": h.role, "content": h.text} for h in history]
        messages.append({"role": "user", "content": text})
        reply: list[str] = []
        for round_number in range(self._max_tool_rounds + 1):
            # The last call offers no tools, so the model has to answer in words.
            offered = tools if round_number < self._max_tool_rounds else None
            content: list[str] = []
            calls: list[ToolCall] = []
            stream = self._client.stream(
                model=agent.llm.model, messages=messages, tools=offered, temperature=agent.llm.temperature
            )
            async for event in stream:
                if isinstance(event, ContentDelta):
                    # An earlier round's text was already shown; keep this round's text apart from it.
                    piece = "\n\n" + event.text if reply and not content else event.text
                    content.append(event.text)
                    reply.append(piece)
                    await on_delta(piece)
                elif isinstance(event, ToolCall):
                    calls.append(event)
            if not calls or offered is None:
                break
            messages.append(assistant_tool_calls_message("".join(content), calls))
            for call in calls:
                messages.append(tool_result_message(call, await self._run_tool(call, run)))
        if not "".join(reply).strip():
            raise ChatProviderError("the model returned no reply text", status=None, retryable=False)
        return run.turn.decision("".join(reply))

    async def _run_tool(self, call: ToolCall, run: _ToolRun) -> str:
        args, turn = call.arguments, run.turn
        if not args and call.raw_arguments.strip() not in ("", "{}"):
            return json.dumps({"error": f"arguments were not valid JSON: {call.raw_arguments[:200]}"})
        if call.name == "search_knowledge":
            query = str(args.get("query") or "").strip()
            if not query:
                return json.dumps({"error": "`query` must say what to look for"})
            try:
                passages = await self._knowledge.search(
                    tenant_id=run.tenant_id, knowledge_base_ids=list(turn.agent.knowledge_base_ids), query=query,
                    top_k=_TOP_K,
                )
            except KnowledgeUnavailable as exc:
                log.warning("knowledge search failed during an LLM turn: %s", exc)
                return turn.search_result(None)
            return turn.search_result(passages)
        if call.name == "update_lead":
            return json.dumps(turn.record_lead(args.get("fields")))
        if call.name == "request_meeting":
            return json.dumps(turn.request_meeting(args.get("when"), args.get("note")))
        if call.name == "handoff":
            return json.dumps(turn.hand_off(args.get("reason")))
        if call.name == "cancel_meeting":
            return json.dumps(turn.cancel_meeting())
        return json.dumps({"error": f"unknown tool {call.name!r}"})
