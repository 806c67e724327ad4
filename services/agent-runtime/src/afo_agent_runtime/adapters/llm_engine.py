"""The conversation engine backed by a chat-completions model that acts through tools.

It yields the same TurnDecision as the embedded engine, so handlers do not care which one answered.
Errors: a provider failure propagates as ChatProviderError. Content is streamed to `on_delta` as it
arrives, so a failure in a later round (or mid-stream) propagates after the lead already saw part
of a reply; callers that fall back to another engine must account for that text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from afo_agent_runtime.adapters.openai_chat import (
    ChatProviderError,
    ContentDelta,
    OpenAIChatClient,
    ToolCall,
)
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import (
    ConversationMemory,
    FieldInvalid,
    Intent,
    MeetingRequest,
    TurnDecision,
    parse_meeting_time,
    validate_field,
)

_TOP_K = 4


@dataclass(frozen=True)
class Passage:
    text: str
    title: str
    page: int | None
    document_id: str
    score: float


class KnowledgeSearch(Protocol):
    async def search(
        self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int
    ) -> list[Passage]: ...


@dataclass(frozen=True)
class HistoryTurn:
    role: Literal["user", "assistant"]
    text: str


DeltaSink = Callable[[str], Awaitable[None]]


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


_SEARCH = _tool(
    "search_knowledge",
    "Search the business's documents. Use it before answering any question about products, prices, "
    "policies or facts about the business.",
    {"query": {"type": "string", "description": "What to look for, in the lead's language."}},
    ["query"],
)
_UPDATE_LEAD = _tool(
    "update_lead",
    "Record details the lead has given, keyed by qualification field name.",
    {"fields": {"type": "object", "additionalProperties": {"type": "string"}}},
    ["fields"],
)
_REQUEST_MEETING = _tool(
    "request_meeting",
    "Ask to book a meeting at the time the lead proposed, in their words (e.g. 'Tuesday at 3pm').",
    {"when": {"type": "string"}, "note": {"type": "string"}},
    ["when"],
)
_HANDOFF = _tool(
    "handoff",
    "Hand the conversation to a human teammate, when the lead asks for one or you cannot help.",
    {"reason": {"type": "string"}},
    ["reason"],
)


@dataclass
class _Turn:
    """What the tools did during one user turn; becomes the TurnDecision."""

    agent: AgentSpec
    lead: dict[str, str]
    now: datetime
    changes: dict[str, str] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    meeting: MeetingRequest | None = None
    handoff_reason: str | None = None
    cited: int = 0

    def missing(self) -> list[str]:
        return [f.name for f in self.agent.qualification_fields if f.required and not self.lead.get(f.name)]

    def update_lead(self, fields: Any) -> dict[str, Any]:
        if not isinstance(fields, dict):
            return {"error": "`fields` must be an object of field name to value"}
        kinds = {f.name: f.kind for f in self.agent.qualification_fields}
        accepted: dict[str, str] = {}
        invalid: dict[str, str] = {}
        for name, value in fields.items():
            if name not in kinds:
                invalid[name] = f"unknown field; known fields: {', '.join(kinds)}"
                continue
            try:
                accepted[name] = validate_field(kinds[name], str(value))
            except FieldInvalid as exc:
                invalid[name] = str(exc)
        for name, value in accepted.items():
            if self.lead.get(name) != value:
                self.changes[name] = value
            self.lead[name] = value
            self.invalid.pop(name, None)
        self.invalid.update(invalid)
        advice = "Ask the lead again for the invalid ones, explaining what was wrong." if invalid else ""
        return {"accepted": accepted, "invalid": invalid, "still_missing": self.missing(), "advice": advice}

    def request_meeting(self, when: Any) -> dict[str, Any]:
        tz = ZoneInfo(self.agent.timezone)
        start = parse_meeting_time(str(when), self.now, tz) if when else None
        if start is None:
            return {"ok": False, "error": f"Could not understand {when!r}; ask the lead for a day and time."}
        local = start.astimezone(tz)
        self.meeting = MeetingRequest(start=local, timezone=self.agent.timezone, text=str(when))
        return {"ok": True, "start": local.isoformat(), "readable": local.strftime("%A %d %B %Y, %H:%M %Z")}

    def handoff(self, reason: Any) -> dict[str, Any]:
        self.handoff_reason = str(reason or "requested by the assistant")
        return {"ok": True, "note": "A teammate will take over; tell the lead they will hear from a person."}


def _passages_text(passages: Sequence[Passage], first: int) -> str:
    if not passages:
        return "No passages found. Say you do not know rather than guessing."
    blocks = []
    for number, passage in enumerate(passages, start=first):
        page = f", page {passage.page}" if passage.page is not None else ""
        blocks.append(f"[{number}] {passage.title}{page}\n{passage.text}")
    return "\n\n".join(blocks)


def _system_prompt(agent: AgentSpec, memory: ConversationMemory, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(agent.timezone))
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
    lines += [
        "",
        f"The business's time zone is {agent.timezone}; it is now {local:%A %d %B %Y, %H:%M} there.",
        "Call tools rather than inventing facts. Answer questions about the business from search_knowledge "
        "and cite the passages you use as [1], [2] by their numbers; if nothing relevant is found, say so.",
        "When the lead proposes a meeting time, call request_meeting. Call handoff when they ask for a "
        "human or you cannot help. Keep replies short and conversational.",
    ]
    return "\n".join(line for line in lines if line is not None)


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
        """Runs the model and its tools until it answers in text (tool rounds capped).

        Raises ChatProviderError, possibly after some deltas were already sent to `on_delta`.
        """
        if not agent.llm.model:
            raise ChatProviderError("the agent has no LLM model configured", status=None, retryable=False)
        turn = _Turn(agent=agent, lead=dict(memory.lead), now=now)
        tools = [_UPDATE_LEAD, _REQUEST_MEETING, _HANDOFF]
        if agent.knowledge_base_ids:
            tools.insert(0, _SEARCH)
        messages: list[dict[str, Any]] = [{"role": "system", "content": _system_prompt(agent, memory, now)}]
        messages += [{"role": h.role, "content": h.text} for h in history]
        messages.append({"role": "user", "content": text})
        reply: list[str] = []
        for round_number in range(self._max_tool_rounds + 1):
            # The last call offers no tools, so the model has to answer in words.
            offered = tools if round_number < self._max_tool_rounds else None
            content, calls = await self._call(agent, messages, offered, reply, on_delta)
            if not calls or offered is None:
                break
            messages.append({
                "role": "assistant",
                "content": content or None,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw_arguments}}
                    for c in calls
                ],
            })
            for call in calls:
                result = await self._run_tool(call, turn, tenant_id)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        if not "".join(reply).strip():
            raise ChatProviderError("the model returned no reply text", status=None, retryable=False)
        return self._decision("".join(reply), text, memory, turn)

    async def _call(
        self,
        agent: AgentSpec,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        reply: list[str],
        on_delta: DeltaSink,
    ) -> tuple[str, list[ToolCall]]:
        content: list[str] = []
        calls: list[ToolCall] = []
        model = agent.llm.model or ""
        async for event in self._client.stream(
            model=model, messages=messages, tools=tools, temperature=agent.llm.temperature
        ):
            if isinstance(event, ContentDelta):
                # Text from an earlier round was already shown; keep this round's text apart from it.
                piece = "\n\n" + event.text if reply and not content else event.text
                content.append(event.text)
                reply.append(piece)
                await on_delta(piece)
            elif isinstance(event, ToolCall):
                calls.append(event)
        return "".join(content), calls

    async def _run_tool(self, call: ToolCall, turn: _Turn, tenant_id: str) -> str:
        args = call.arguments
        if not args and call.raw_arguments.strip() not in ("", "{}"):
            return json.dumps({"error": f"arguments were not valid JSON: {call.raw_arguments[:200]}"})
        if call.name == "search_knowledge":
            passages = await self._knowledge.search(
                tenant_id=tenant_id,
                knowledge_base_ids=list(turn.agent.knowledge_base_ids),
                query=str(args.get("query", "")),
                top_k=_TOP_K,
            )
            text = _passages_text(passages, turn.cited + 1)
            turn.cited += len(passages)
            return text
        if call.name == "update_lead":
            return json.dumps(turn.update_lead(args.get("fields")))
        if call.name == "request_meeting":
            return json.dumps(turn.request_meeting(args.get("when")))
        if call.name == "handoff":
            return json.dumps(turn.handoff(args.get("reason")))
        return json.dumps({"error": f"unknown tool {call.name!r}"})

    @staticmethod
    def _decision(reply: str, text: str, memory: ConversationMemory, turn: _Turn) -> TurnDecision:
        missing = turn.missing()
        qualified = memory.qualified or not missing
        new_memory = replace(
            memory,
            lead=turn.lead,
            greeted=True,
            qualified=qualified,
            handoff_requested=memory.handoff_requested or turn.handoff_reason is not None,
            turns=memory.turns + 1,
        )
        if turn.meeting is not None:
            intent = Intent.SCHEDULING
        elif turn.handoff_reason is not None:
            intent = Intent.HUMAN
        elif turn.changes:
            intent = Intent.PROVIDE_INFO
        else:
            intent = Intent.QUESTION if "?" in text else Intent.OTHER
        return TurnDecision(
            reply=reply,
            intent=intent,
            memory=new_memory,
            lead_changes=turn.changes,
            invalid_fields=turn.invalid,
            missing_fields=missing,
            became_qualified=qualified and not memory.qualified,
            meeting_request=turn.meeting,
            handoff_reason=turn.handoff_reason,
            opted_out=False,
        )
