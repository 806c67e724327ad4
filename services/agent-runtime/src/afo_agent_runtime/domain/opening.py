"""The agent's first message to a lead who came in through an inbound source (a web form, an ad platform's
lead form): the agent reaches out before the lead writes. Rules:

- the lead's known details land in the agent's fields of the same kind (a form's ``email`` in the agent's
  email field, whatever it is named); details the agent does not ask for are kept under their own names;
- the message is the agent's greeting, the lead's first name when known, a line about what they wrote
  (quoted, shortened to 140 characters) or a thanks for getting in touch, then the question for the first
  required field still missing (or an offer to help when none is);
- pure: the caller stores the message and the memory (awaiting that field, greeted)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import ConversationMemory, Replies

QUOTE_MAX = 140


@dataclass(frozen=True)
class Opening:
    text: str
    memory: ConversationMemory
    missing: list[str]


def lead_fields(agent: AgentSpec, details: Mapping[str, str]) -> dict[str, str]:
    """The details under the agent's field names: a detail named like a field kind goes to the agent's first
    field of that kind."""
    by_kind: dict[str, str] = {}
    for field in agent.qualification_fields:
        by_kind.setdefault(field.kind, field.name)
    return {by_kind.get(name, name): value for name, value in details.items() if value}


def compose_opening(agent: AgentSpec, details: Mapping[str, str], message: str | None) -> Opening:
    fields = lead_fields(agent, details)
    replies = Replies(agent)
    missing = [f.name for f in agent.qualification_fields if f.required and f.name not in fields]
    name_field = next((f.name for f in agent.qualification_fields if f.kind == "name"), "name")
    first_name = (fields.get(name_field) or "").split(" ")[0]
    parts = [replies.greeting()]
    to = f", {first_name}" if first_name else ""
    if message and message.strip():
        quoted = " ".join(message.split())
        if len(quoted) > QUOTE_MAX:
            quoted = quoted[:QUOTE_MAX - 1].rstrip() + "…"
        parts.append(f"Thanks for your message{to}: \u201c{quoted}\u201d.")
    else:
        parts.append(f"Thanks for getting in touch{to}.")
    by_name = {f.name: f for f in agent.qualification_fields}
    if missing:
        parts.append(replies.question(by_name[missing[0]]))
    else:
        parts.append("How can I help?")
    memory = ConversationMemory(lead=fields, greeted=True, awaiting_field=missing[0] if missing else None)
    return Opening(" ".join(parts), memory, missing)
