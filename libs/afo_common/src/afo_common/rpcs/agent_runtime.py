"""RPC contracts of agent-runtime, the owner of agents, conversations, messages and leads.

An agent's configuration has its models in ``agent_spec``: the gateway validates requests with them and
agent-runtime validates again before it stores one, answering ``invalid`` with per-field details that the
gateway turns into a 422. A patch travels typed (``AgentPatch``). A whole configuration (create, views)
travels as a JSON object: typing it would make ``name`` a newly required property of messages recorded
as free-form objects, which ``tests/contract`` rightly counts as a break."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from afo_common.events.conversation import Channel, Citation, Contact
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.agent_spec import AgentPatch
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "agent-runtime"
# A published version's tests: a run of its configuration passed them all, or the publish overrode them.
PublishedTests = Literal["passed", "overridden"]


class AgentView(BaseModel):
    id: str
    spec: dict[str, Any]
    published_version: int | None
    created_at: datetime
    updated_at: datetime


class AgentVersionView(BaseModel):
    agent_id: str
    version: int
    spec: dict[str, Any]
    published_at: datetime
    # The agent's tests when it was published (``agent_tests``): a run of this configuration passed them all, or
    # they failed or were not run and the publish was overridden; None: the agent had no tests.
    tests: PublishedTests | None = None
    test_run_id: str | None = None


class CreateAgent(TenantRequest):
    spec: dict[str, Any]
    # The same request id again (a retry after a timeout) answers with the agent the first one made.
    request_id: str | None = Field(default=None, min_length=8, max_length=64)


class AgentRef(TenantRequest):
    agent_id: str = Field(max_length=64)


class PublishAgent(AgentRef):
    # Publish although the agent's tests failed on this configuration or were not run on it (recorded on the
    # version); without it that is a ``conflict`` whose details name the tests.
    override: bool = False


class UpdateAgent(AgentRef):
    patch: AgentPatch


class ListAgents(PageRequest):
    pass


class CountAgents(TenantRequest):
    """How many (live) agents the tenant has: what its plan's agent limit is checked against."""


class AgentCount(BaseModel):
    agents: int


class ListVersions(PageRequest):
    agent_id: str = Field(max_length=64)


class Deleted(BaseModel):
    id: str
    deleted: bool = True


class MessageView(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    text: str
    created_at: datetime
    in_reply_to: str | None = None
    intent: str | None = None
    engine: str | None = None
    citations: list[Citation] = []


class LeadView(BaseModel):
    id: str
    conversation_id: str
    agent_id: str
    fields: dict[str, str]
    missing_fields: list[str]
    qualified: bool
    opted_out: bool
    created_at: datetime
    updated_at: datetime
    # The summary of its conversation, once that ended and was analysed.
    summary: str | None = None


class ConversationAnalysis(BaseModel):
    """What a finished conversation came to (``conversation.analyzed``)."""

    summary: str
    outcome: Literal["qualified", "booked", "handoff", "not_interested", "lost"]
    facts: dict[str, str]
    next_step: str | None = None
    engine: Literal["embedded", "openai"]


class ConversationView(BaseModel):
    id: str
    agent_id: str
    agent_version: int
    channel: Channel
    contact: Contact
    status: Literal["open", "handed_off", "opted_out"]
    lead_id: str | None
    created_at: datetime
    updated_at: datetime
    # Set once it ended: closed over the API, the lead opted out, or idle past the agent's timeout.
    closed_at: datetime | None = None
    close_reason: Literal["closed", "opted_out", "idle"] | None = None


class ConversationDetail(ConversationView):
    messages: list[MessageView]
    lead: LeadView | None
    analysis: ConversationAnalysis | None = None


class CreateConversation(TenantRequest):
    agent_id: str = Field(max_length=64)
    channel: Channel
    contact: Contact = Contact()
    # The same request id again (a retry after a timeout) answers with the conversation the first made.
    request_id: str | None = Field(default=None, min_length=8, max_length=64)


class ConversationRef(TenantRequest):
    conversation_id: str = Field(max_length=64)


class ListConversations(PageRequest):
    agent_id: str | None = Field(default=None, max_length=64)


class LeadRef(TenantRequest):
    lead_id: str = Field(max_length=64)


class ListLeads(PageRequest):
    qualified: bool | None = None


def _op(name: str, request: type[Any], response: type[Any]) -> RpcOperation[Any, Any]:
    return RpcOperation(SERVICE, name, request, response)


CREATE_AGENT: RpcOperation[CreateAgent, AgentView] = _op("agents.create", CreateAgent, AgentView)
GET_AGENT: RpcOperation[AgentRef, AgentView] = _op("agents.get", AgentRef, AgentView)
LIST_AGENTS: RpcOperation[ListAgents, Page[AgentView]] = _op("agents.list", ListAgents, Page[AgentView])
COUNT_AGENTS: RpcOperation[CountAgents, AgentCount] = _op("agents.count", CountAgents, AgentCount)
UPDATE_AGENT: RpcOperation[UpdateAgent, AgentView] = _op("agents.update", UpdateAgent, AgentView)
DELETE_AGENT: RpcOperation[AgentRef, Deleted] = _op("agents.delete", AgentRef, Deleted)
PUBLISH_AGENT: RpcOperation[PublishAgent, AgentVersionView] = _op("agents.publish", PublishAgent, AgentVersionView)
LIST_VERSIONS: RpcOperation[ListVersions, Page[AgentVersionView]] = _op(
    "agents.versions", ListVersions, Page[AgentVersionView]
)
CREATE_CONVERSATION: RpcOperation[CreateConversation, ConversationView] = _op(
    "conversations.create", CreateConversation, ConversationView
)
GET_CONVERSATION: RpcOperation[ConversationRef, ConversationDetail] = _op(
    "conversations.get", ConversationRef, ConversationDetail
)
CHECK_CONVERSATION: RpcOperation[ConversationRef, ConversationView] = _op(
    "conversations.check", ConversationRef, ConversationView
)
LIST_CONVERSATIONS: RpcOperation[ListConversations, Page[ConversationView]] = _op(
    "conversations.list", ListConversations, Page[ConversationView]
)
CLOSE_CONVERSATION: RpcOperation[ConversationRef, ConversationView] = _op(
    "conversations.close", ConversationRef, ConversationView
)
GET_LEAD: RpcOperation[LeadRef, LeadView] = _op("leads.get", LeadRef, LeadView)
LIST_LEADS: RpcOperation[ListLeads, Page[LeadView]] = _op("leads.list", ListLeads, Page[LeadView])

OPERATIONS: list[RpcOperation[Any, Any]] = [
    CREATE_AGENT, GET_AGENT, LIST_AGENTS, COUNT_AGENTS, UPDATE_AGENT, DELETE_AGENT, PUBLISH_AGENT, LIST_VERSIONS,
    CREATE_CONVERSATION, GET_CONVERSATION, CHECK_CONVERSATION, LIST_CONVERSATIONS, CLOSE_CONVERSATION, GET_LEAD,
    LIST_LEADS,
]
