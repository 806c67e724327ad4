"""A chat-completions model acting through tools; it decides turns in the embedded engine's TurnDecision."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal, Protocol

from afo_agent_runtime.adapters.openai_chat import (
    ChatProviderError,
    ContentDelta,
    OpenAIChatClient,
    ToolCall,
    assistant_tool_calls_message,
    tool_result_message,
)
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import (
    ConversationMemory,
    FieldInvalid,
    Intent,
    MeetingRequest,
    TurnDecision,
    classify,
    parse_meeting,
    validate_field,
)

_TOP_K = 4
# Without a tool outcome the classifier's intent stands, unless it claims an action no tool carried out.
_CLASSIFIED_INTENTS = frozenset({Intent.GREETING, Intent.QUESTION, Intent.PRICING})


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


def _tool(name: str, description: str, *optional: str, **properties: Any) -> dict[str, Any]:
    required = [p for p in properties if p not in optional]
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


_TEXT = {"type": "string"}
_SEARCH = _tool("search_knowledge", "Search the business's documents for facts about it.", query=_TEXT)
_FIELDS = {"type": "object", "additionalProperties": _TEXT}
_UPDATE_LEAD = _tool("update_lead", "Record details the lead gave, keyed by field name.", fields=_FIELDS)
_REQUEST_MEETING = _tool(
    "request_meeting", "Ask to meet at the time the lead proposed.", "note", when=_TEXT, note=_TEXT
)
_HANDOFF = _tool("handoff", "Hand the conversation to a human teammate.", reason=_TEXT)


@dataclass
class _Turn:
    """What the tools did during one user turn; becomes the TurnDecision."""

    agent: AgentSpec
    lead: dict[str, str]
    text: str
    now: datetime
    pending_day: date | None
    changes: dict[str, str] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    meeting: MeetingRequest | None = None
    handoff_reason: str | None = None
    cited: int = 0

    def missing(self) -> list[str]:
        return [f.name for f in self.agent.qualification_fields if f.required and f.name not in self.lead]

    def update_lead(self, fields: Any) -> dict[str, Any]:
        if not isinstance(fields, dict):
            return {"error": "`fields` must be an object of field name to value"}
        kinds = {f.name: f.kind for f in self.agent.qualification_fields}
        accepted: dict[str, str] = {}
        invalid: dict[str, str] = {}
        for name, value in fields.items():
            if name not in kinds:
                invalid[name] = f"unknown field; the fields are: {', '.join(kinds)}"
                continue
            try:
                accepted[name] = validate_field(kinds[name], "" if value is None else str(value))
            except FieldInvalid as exc:
                invalid[name] = exc.reason
        for name, value in accepted.items():
            if self.lead.get(name) != value:
                self.changes[name] = value
            self.lead[name] = value
            self.invalid.pop(name, None)
        # Unknown names are the model's mistake, not the lead's, so the decision does not report them.
        self.invalid.update({name: reason for name, reason in invalid.items() if name in kinds})
        advice = "Tell the lead what was wrong with each invalid value and ask again." if invalid else None
        return {"accepted": accepted, "invalid": invalid, "still_missing": self.missing(), "advice": advice}

    def request_meeting(self, when: Any, note: Any) -> dict[str, Any]:
        wanted = parse_meeting(str(when or ""), self.now, self.agent.tz(), default_day=self.pending_day)
        if wanted.start is None:
            if wanted.day is not None and wanted.clock is None:
                self.pending_day = wanted.day
                problem = f"that gives a day ({wanted.day:%A %d %B}) but no time; ask what time suits them"
            elif wanted.in_past:
                problem = "that time has already passed; ask for a later day and time"
            else:
                problem = f"could not understand {when!r} as a time; ask the lead for a day and time"
            return {"ok": False, "error": problem}
        self.pending_day = None
        words = self.text if not note else f"{self.text} (note: {note})"
        self.meeting = MeetingRequest(start=wanted.start, timezone=self.agent.timezone, text=words)
        readable = f"{wanted.start:%A %d %B %Y, %H:%M} ({self.agent.timezone})"
        return {"ok": True, "start": wanted.start.isoformat(), "readable": readable}

    def handoff(self, reason: Any) -> dict[str, Any]:
        self.handoff_reason = str(reason or "the assistant asked for a person to take over")
        return {"ok": True, "note": "A teammate will take over; tell the lead a person will follow up."}

    def decision(self, reply: str, memory: ConversationMemory) -> TurnDecision:
        missing = self.missing()
        new_memory = replace(
            memory,
            lead=self.lead,
            # The model's question is free text; only the embedded engine reads a bare answer by field.
            awaiting_field=None,
            greeted=True,
            qualified=memory.qualified or not missing,
            handoff_requested=memory.handoff_requested or self.handoff_reason is not None,
            turns=memory.turns + 1,
            pending_meeting_day=self.pending_day.isoformat() if self.pending_day else None,
            meeting_start=self.meeting.start.isoformat() if self.meeting else memory.meeting_start,
        )
        if self.meeting is not None:
            intent = Intent.SCHEDULING
        elif self.handoff_reason is not None:
            intent = Intent.HUMAN
        elif self.changes:
            intent = Intent.PROVIDE_INFO
        else:
            classified = classify(self.text).intent
            intent = classified if classified in _CLASSIFIED_INTENTS else Intent.OTHER
        return TurnDecision(
            reply=reply,
            intent=intent,
            memory=new_memory,
            lead_changes=self.changes,
            invalid_fields=self.invalid,
            missing_fields=missing,
            became_qualified=not memory.qualified and not missing,
            meeting_request=self.meeting,
            handoff_reason=self.handoff_reason,
            opted_out=False,
        )


def _passages_text(passages: Sequence[Passage], first: int) -> str:
    if not passages:
        return "No passages found. Say you do not know rather than guessing."
    blocks = []
    for number, passage in enumerate(passages, start=first):
        page = f", page {passage.page}" if passage.page is not None else ""
        blocks.append(f"[{number}] {passage.title}{page}\n{passage.text}")
    return "\n\n".join(blocks)


def _system_prompt(agent: AgentSpec, memory: ConversationMemory, now: datetime) -> str:
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
        "and cite the passages you use as [1], [2] by their numbers; if nothing relevant is found, say so.",
        "When the lead proposes a meeting time, call request_meeting. Call handoff when they ask for a "
        "human or you cannot help. Keep replies short and conversational.",
    ]
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
        pending_day = date.fromisoformat(memory.pending_meeting_day) if memory.pending_meeting_day else None
        turn = _Turn(agent=agent, lead=dict(memory.lead), text=text, now=now, pending_day=pending_day)
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
                messages.append(tool_result_message(call, await self._run_tool(call, turn, tenant_id)))
        if not "".join(reply).strip():
            raise ChatProviderError("the model returned no reply text", status=None, retryable=False)
        return turn.decision("".join(reply), memory)

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
            return json.dumps(turn.request_meeting(args.get("when"), args.get("note")))
        if call.name == "handoff":
            return json.dumps(turn.handoff(args.get("reason")))
        return json.dumps({"error": f"unknown tool {call.name!r}"})
