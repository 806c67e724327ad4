"""Rows to the contract views agent-runtime answers with."""

from __future__ import annotations

from afo_agent_runtime.adapters.agent_repository import AgentRow, VersionRow
from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_common.events.conversation import Citation, Contact
from afo_common.rpcs.agent_runtime import (
    AgentVersionView,
    AgentView,
    ConversationView,
    LeadView,
    MessageView,
)


def agent_view(row: AgentRow) -> AgentView:
    return AgentView(id=row.id, spec=row.spec, published_version=row.published_version,
                     created_at=row.created_at, updated_at=row.updated_at)


def version_view(row: VersionRow) -> AgentVersionView:
    return AgentVersionView(agent_id=row.agent_id, version=row.version, spec=row.spec,
                            published_at=row.published_at, tests=row.tests, test_run_id=row.test_run_id)


def conversation_view(row: ConversationRow) -> ConversationView:
    return ConversationView(
        id=row.id, agent_id=row.agent_id, agent_version=row.agent_version, channel=row.channel,
        contact=Contact.model_validate(row.contact), status=row.status,
        lead_id=row.lead_id, created_at=row.created_at, updated_at=row.updated_at,
        closed_at=row.closed_at, close_reason=row.close_reason,
    )


def message_view(row: MessageRow) -> MessageView:
    return MessageView(
        id=row.id, role=row.role, text=row.text, created_at=row.created_at,
        in_reply_to=row.in_reply_to, intent=row.intent, engine=row.engine,
        citations=[Citation.model_validate(c) for c in row.citations],
    )


def lead_view(row: LeadRow) -> LeadView:
    return LeadView(
        id=row.id, conversation_id=row.conversation_id, agent_id=row.agent_id, fields=row.fields,
        missing_fields=row.missing_fields, qualified=row.qualified, opted_out=row.opted_out,
        created_at=row.created_at, updated_at=row.updated_at, summary=row.summary,
    )
