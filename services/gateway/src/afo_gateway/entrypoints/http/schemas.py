"""Request and response bodies of the public API (what OpenAPI documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.conversation import Channel, Citation, Contact
from afo_common.rpcs.agent_runtime import LeadView, PublishedTests
from afo_common.rpcs.agent_spec import AgentSpec
from afo_common.rpcs.knowledge_ingest import Embedding, SearchMode
from afo_gateway.domain.access import KeyKind, Role


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Checked by the accounts handler (email-validator, syntax only); the format is stated for clients.
EmailAddress = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"})]


class SignupBody(Body):
    email: EmailAddress
    password: str = Field(max_length=256)
    company: str = Field(min_length=1, max_length=120)
    timezone: str = Field(default="UTC", max_length=64)


class LoginBody(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class TenantOut(BaseModel):
    id: str
    name: str
    timezone: str
    created_at: datetime


class TenantPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    id: str
    email: str
    role: Role
    created_at: datetime


class UserBody(Body):
    email: EmailAddress
    password: str = Field(max_length=256)
    role: Role = "member"


class RoleBody(Body):
    role: Role


class KeyBody(Body):
    kind: KeyKind = "secret"
    name: str = Field(default="", max_length=120)
    agent_id: str | None = Field(default=None, max_length=64)
    allowed_origins: list[str] = Field(default_factory=list, max_length=20)


class KeyOut(BaseModel):
    id: str
    kind: KeyKind
    name: str
    hint: str
    agent_id: str | None
    allowed_origins: list[str]
    created_at: datetime
    secret: str | None = Field(default=None, description="shown once, in the response that creates the key")
    secret_withheld: bool = Field(default=False, description=(
        "true when this body is an Idempotency-Key replay of the creation: the secret was in the first "
        "response only and is never stored; if it was lost, revoke the key and create another"))


class SignupOut(BaseModel):
    tenant: TenantOut
    user: UserOut
    api_key: KeyOut


class ConversationBody(Body):
    agent_id: str = Field(max_length=64)
    channel: Channel = "api"
    contact: Contact = Contact()


class MessageBody(Body):
    text: str = Field(min_length=1, max_length=8000)


class ReplyOut(BaseModel):
    """The agent's answer to a message."""

    message_id: str
    in_reply_to: str
    text: str
    intent: str | None = None
    engine: str | None = None
    citations: list[Citation] = []


class MessageAccepted(BaseModel):
    message_id: str
    conversation_id: str
    status: Literal["accepted", "replied"]
    reply: ReplyOut | None = Field(default=None, description="with ?wait=true, once the agent answered")
    lead: LeadView | None = Field(default=None, description="the lead after this turn, once one exists")


class AgentSpecOut(AgentSpec):
    """An agent's configuration as stored and answered: qualification fields always in the long form.
    A field this gateway does not know yet (agent-runtime upgraded first) is left out, not an error."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class AgentOut(AgentSpecOut):
    id: str
    published_version: int | None = Field(description="the version new conversations pin; null until published")
    created_at: datetime
    updated_at: datetime


class AgentVersionOut(BaseModel):
    agent_id: str
    version: int
    spec: AgentSpecOut
    published_at: datetime
    tests: PublishedTests | None = Field(default=None, description="passed: a run of this configuration passed "
                                         "every test; overridden: published although they failed or were not "
                                         "run; null: the agent had no tests")
    test_run_id: str | None = Field(default=None, description="the run of the agent's tests that was checked")


class StreamTokenOut(BaseModel):
    token: str = Field(description="pass as ?access_token= to GET /v1/conversations/{id}/stream")
    expires_at: datetime = Field(description="the stream must be opened before then; once open it stays open")


class EventCredentialBody(Body):
    name: str = Field(min_length=1, max_length=120)


class EventCredentialOut(BaseModel):
    id: str
    name: str
    hint: str
    nats_url: str
    subjects: list[str]
    created_at: datetime
    secret: str | None = Field(default=None, description="shown once, when the credential is created; connect "
                                                         "to NATS with user = id and password = secret")
    secret_withheld: bool = Field(default=False, description=(
        "true when this body is an Idempotency-Key replay of the creation: the secret was in the first "
        "response only and is never stored; if it was lost, revoke the credential and create another"))


class KnowledgeBaseBody(Body):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    embedding: Embedding = Field(default_factory=Embedding, description=(
        "which model makes the dense vectors: `embedded` (all-MiniLM-L6-v2, offline) or `openai` with a model"))


class KnowledgeBasePatch(Body):
    """Changes only the fields sent. A new ``embedding`` re-embeds every document (status ``reembedding``);
    search uses the old vectors until that is done."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    embedding: Embedding | None = None


class DocumentUrlBody(Body):
    url: str = Field(min_length=1, max_length=2048, description=(
        "an http or https page (or PDF, DOCX, Markdown, text file) fetched once; public addresses only"))


class SearchBody(Body):
    # Strict: pydantic would otherwise read JSON `true` as 1 and "5" as 5, which the schema does not allow.
    model_config = ConfigDict(extra="forbid", strict=True)

    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=50)
    mode: SearchMode = Field(default="hybrid", description=(
        "`hybrid` fuses dense and sparse (BM25) rankings; `dense` or `sparse` uses one"))


class IntegrationOut(BaseModel):
    provider: str
    configured: bool = True
    fields: dict[str, Any] = Field(description=(
        "the stored fields: secret ones masked (`••••` and their last four characters), the others as sent"))
    secret_fields: list[str]
    key_id: str = Field(description="the id of the vault key the credentials are encrypted under")
    created_at: datetime
    updated_at: datetime


class OAuthConnectOut(BaseModel):
    url: str = Field(description="the provider's consent page: open it in the browser of the user who connects; "
                                 "it comes back to the callback within 10 minutes, once")


class IntegrationList(BaseModel):
    data: list[IntegrationOut]


class IntegrationTestOut(BaseModel):
    ok: bool
    error: str | None = None
    status: int | None = Field(default=None, description="the provider's HTTP status, when it answered")
